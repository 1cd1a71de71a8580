"""Pure: Marathon's event stream (``GET /v2/events``, server-sent events) as typed events.

Marathon's ``HttpEventStreamServlet`` writes each event as ``event: <type>`` and ``data: <json>``
lines ended by a blank line (the W3C server-sent events format; lines starting with ``:`` are
comments). Upstream: Marathon's ``docs/docs/event-bus.md``, ``core/event/Events.scala``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from ..inputs import loads

# the events that end a deployment; both carry the deployment plan (``plan.id``)
DEPLOYMENT_ENDS = ("deployment_success", "deployment_failed")


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]

    @property
    def deployment_id(self) -> str | None:
        plan = self.data.get("plan")
        found = plan.get("id") if isinstance(plan, dict) else self.data.get("id")
        return str(found) if found else None


MAX_FRAME = 2**20  # characters of one frame, every line counted (Marathon's events are a few KB)
MAX_STREAM = 2**26  # characters of the whole stream, blank lines and comments included (then: polling)


class StreamBound(ValueError):
    """The stream went past a bound: it is given up (the run polls ``/v2/deployments`` instead)."""


def parse_events(lines: Iterable[str]) -> Iterator[Event]:
    """Events from the stream's lines; a frame whose data is not a JSON object is skipped.

    Every line counts towards its frame and the stream by its length plus its newline, whatever
    it holds: a ``data:`` with no value, a blank line or a comment costs as much as it is sent.
    """
    kind, data, frame, stream = "", list[str](), 0, 0
    for line in lines:
        stream += len(line) + 1
        if stream > MAX_STREAM:
            raise StreamBound(f"sent more than {MAX_STREAM} characters")
        if line.startswith(":"):
            continue
        if line == "":
            if data:
                try:
                    body = loads("\n".join(data))
                except ValueError:
                    body = None
                if isinstance(body, dict):
                    yield Event(kind or str(body.get("eventType") or "message"), body)
            kind, data, frame = "", list[str](), 0
            continue
        frame += len(line) + 1
        if frame > MAX_FRAME:  # a frame that never ends: the stream is given up, not kept growing
            raise StreamBound(f"sent more than {MAX_FRAME} characters in one event")
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            kind = value
        elif field == "data":
            data.append(value)
