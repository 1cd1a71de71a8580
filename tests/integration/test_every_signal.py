"""Every signal whose default action ends the process is handled like SIGTERM (issue #22, item 3).

SIGUSR1, SIGUSR2, SIGQUIT, SIGALRM and SIGXCPU mid-wave ended a run with no report, no JUnit, no
ledger line, and left the lock file behind. Now each starts nothing new and the run ends as it does
for SIGTERM. The list is ``fleetrewind.stopsignals.STOP_SIGNALS``; the ones deliberately left
alone are tested in ``tests/unit/test_stop_signals.py``.
"""

from __future__ import annotations

import signal
from typing import Callable

import pytest

from tests.fleet_support import env_lock, signal_when
from tests.integration.test_faults import (World, _start_run, assert_every_service_tracked, indexed,  # noqa: F401
                                           make_world)

pytestmark = pytest.mark.slow

MID_WAVE = [signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT, signal.SIGALRM, signal.SIGXCPU,  # the examples
            signal.SIGVTALRM, signal.SIGPROF, signal.SIGPWR, signal.SIGIO, signal.SIGRTMIN, signal.SIGRTMAX]


@pytest.mark.parametrize("sig", MID_WAVE, ids=lambda s: signal.Signals(s).name if s in signal.Signals._value2member_map_ else str(s))
def test_a_terminating_signal_mid_wave_ends_with_report_junit_ledger_and_no_lock(
        make_world: Callable[..., World], sig: int) -> None:
    world = make_world(deploy_seconds=1.5)
    proc = _start_run(world)
    _, err = signal_when(proc, lambda: len(world.puts()) >= 1, "the first PUT of wave 1", sig)

    name = signal.Signals(sig).name
    assert proc.returncode == 1, err
    assert f"{name} received: starting nothing new, writing the report" in err
    assert world.puts("web") == []  # wave 2 never started
    report = world.report()
    assert report["state"] == "INTERRUPTED"
    assert_every_service_tracked(world, report)
    assert world.files("junit-*.xml")
    assert (world.dump / "ledger.jsonl").read_text().strip()
    assert not env_lock().exists()


@pytest.mark.parametrize("sig", [signal.SIGUSR2, signal.SIGQUIT, signal.SIGPROF])
def test_a_terminating_signal_before_the_snapshot_is_one_clear_line_and_changes_nothing(
        make_world: Callable[..., World], sig: int) -> None:
    world = make_world()
    world.sim.set_fault(delay=3.0, method="GET", path_prefix="/v2/apps")
    proc = _start_run(world)
    _, err = signal_when(proc, lambda: any(r["path"].startswith("/v2/apps") for r in world.sim.requests),
                         "the first app read", sig)

    assert proc.returncode == 1, err
    assert err.strip().splitlines()[-1] == (f"error: {signal.Signals(sig).name} received: stopped; nothing more is "
                                            "changed in Marathon (files are replaced whole or not at all)")
    assert world.puts() == []
    assert world.files("snapshot-*.json") == []
    assert not env_lock().exists()
