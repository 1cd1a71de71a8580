"""Marathon's event stream: parsed as Marathon writes it (a run that falls back to polling
when it is absent is in tests/integration/test_events.py)."""

from __future__ import annotations

from fleetrewind.marathon.events import parse_events


# as Marathon's HttpEventStreamServlet writes it (docs/docs/event-bus.md)
STREAM = """\
event: event_stream_attached
data: {"remoteAddress":"10.0.0.7","eventType":"event_stream_attached","timestamp":"2026-11-19T10:05:00.000Z"}

: a comment line
event: deployment_success
data: {"id":"97c136bf","plan":{"id":"97c136bf","steps":[]},"eventType":"deployment_success",
data: "timestamp":"2026-11-19T10:05:05.000Z"}

event: deployment_failed
data: not json

data: {"eventType":"deployment_failed","plan":{"id":"d-2"},"timestamp":"2026-11-19T10:05:06.000Z"}

"""


def test_the_stream_gives_typed_events_with_their_deployment() -> None:
    events = list(parse_events(STREAM.splitlines()))
    assert [(e.type, e.deployment_id) for e in events] == [
        ("event_stream_attached", None), ("deployment_success", "97c136bf"), ("deployment_failed", "d-2")]
