"""Marathon's event stream absent: a run falls back to polling (the parser is in
tests/unit/test_events.py)."""

from __future__ import annotations

import pytest
from pathlib import Path
from typing import Any

from marathonsim import Simulator
from testbed import wave


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
