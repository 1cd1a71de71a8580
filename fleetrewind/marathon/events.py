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


MAX_FRAME = 2**20  # characters of one event's data


def parse_events(lines: Iterable[str]) -> Iterator[Event]:
    """Events from the stream's lines; a frame whose data is not a JSON object is skipped."""
    kind, data, size = "", list[str](), 0
    for line in lines:
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
            kind, data, size = "", list[str](), 0
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            kind = value
        elif field == "data":
            data.append(value)
            size += len(value)
            if size > MAX_FRAME:  # a frame that never ends: dropped, not kept growing
                kind, data, size = "", list[str](), 0
