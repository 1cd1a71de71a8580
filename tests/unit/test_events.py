"""Marathon's event stream: parsed as Marathon writes it; a run falls back to polling when it is absent."""

from __future__ import annotations

import pytest
from pathlib import Path
from typing import Any

from fleetrewind.marathon.events import parse_events
from marathonsim import Simulator
from testbed import wave

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


@pytest.mark.network
def test_with_events_on_a_marathon_without_the_stream_still_rolls_back_by_polling(cli: Any, tmp_path: Path) -> None:
    names = wave.services(3)
    wave.write_index(tmp_path, names)
    (tmp_path / "rollback.yaml").write_text("events: true\n")
    with Simulator(apps=wave.apps_for(names, instances=1), deploy_seconds=0.2) as sim:
        sim.add_fault(path_prefix="/v2/events", error_rate=1.0, status=404)
        r = cli(*wave.run_argv(tmp_path, sim.url, parallel=3), f"--config={tmp_path / 'rollback.yaml'}")
        assert r.code == 0, r.err
        assert wave.on_old_release(sim.apps) == []
        assert any(q["path"] == "/v2/events" for q in sim.requests)
