"""A hostile Marathon (``testbed/hostile_marathon.py`` in front of the simulator): the event stream
and version lists, bounded (issue #22, items 9 and 10)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Iterator

import pytest

from marathonsim import Simulator
from testbed import wave
from testbed.hostile_marathon import HostileMarathon



def endless(chunk: bytes) -> Iterator[bytes]:
    return itertools.repeat(chunk)


def event_run(cli: Any, tmp_path: Path, stream: Iterator[bytes] | None) -> tuple[Any, HostileMarathon, Simulator]:
    names = wave.services(3)
    wave.write_index(tmp_path, names)
    (tmp_path / "rollback.yaml").write_text("events: true\n")
    with Simulator(apps=wave.apps_for(names, instances=1), deploy_seconds=0.2) as sim, \
            HostileMarathon(sim.url) as front:
        front.events = (lambda: stream) if stream is not None else None
        result = cli(*wave.run_argv(tmp_path, front.url, parallel=3), f"--config={tmp_path / 'rollback.yaml'}")
        assert wave.on_old_release(sim.apps) == []
        return result, front, sim


def stream_warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:") and "event stream" in line]


@pytest.mark.parametrize("chunk", [
    b"data:\n" * 4096,  # the example: data lines with no value (675 MB in 27 s before)
    b"event: deployment_info\n" * 1024,  # an event name forever, never a blank line
    b"data\n" * 4096,  # a field with no colon
    b"id: 7\nretry: 5\n" * 1024,  # fields the parser ignores
])
def test_an_endless_frame_is_given_up_with_one_warning_and_the_run_polls(cli: Any, tmp_path: Path,
                                                                          chunk: bytes) -> None:
    result, front, _ = event_run(cli, tmp_path, endless(chunk))
    assert result.code == 0, result.err
    assert len(stream_warnings(result.err)) == 1, result.err
    assert "following /v2/deployments instead" in stream_warnings(result.err)[0]
    assert front.count("events") == 1  # not opened again by a later wave
    assert front.sent < 16 * 2**20  # read up to the frame's bound (and what the sockets buffer), not for ever


def test_a_well_behaved_front_leaves_the_run_silent(cli: Any, tmp_path: Path) -> None:
    result, front, _ = event_run(cli, tmp_path, None)
    assert result.code == 0, result.err
    assert stream_warnings(result.err) == []
    assert front.count("other") > 0
