"""The rollout's revert paths (rollout/usecase.py), against an in-memory scheduler and the fake clock.

A run with ``--on-failure=revert`` stops at the first failure and puts every service it touched back
on its snapshot image (or, for ``--with-config``, its snapshot's whole definition); a revert that
cannot start, or does not finish, says so service by service. No test waits on real time: the
deployments take seconds of the fake clock (tests/fake_time.py) through the rollout's time hooks.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pytest

from fleetrewind.console import Console
from fleetrewind.model.plan import FailurePolicy, Plan
from fleetrewind.model.states import FailureClass, State, Status
from fleetrewind.planning.build import plan_for_images, plan_for_versions
from fleetrewind.report.files import ReportFiles
from fleetrewind.rollout.events import Silent
from fleetrewind.rollout.execute import TimeHooks
from fleetrewind.rollout.usecase import Result, Rollout, RolloutOptions
from fleetrewind.state.file import FileStore
from tests.fake_time import FakeTime
from tests.unit.fake_scheduler import FakeScheduler

OLD = {"api": "reg:5000/api:1-master", "web": "reg:5000/web:1-master", "worker": "reg:5000/worker:1-master"}
NEW = {"api": "reg:5000/api:2-master", "web": "reg:5000/web:2-master", "worker": "reg:5000/worker:2-master"}
APP_IDS = {service: f"/shop/prod/{service}" for service in OLD}
WAVES = [["api", "web"], ["worker"]]   # worker waits for the first wave
TIMEOUT = 30.0


@dataclass
class Bed:
    scheduler: FakeScheduler
    time: FakeTime
    rollout: Rollout
    stderr: io.StringIO
    dump: Path

    def run(self, plan: Plan, policy: FailurePolicy = FailurePolicy.REVERT,
            revert_on: frozenset[FailureClass] | None = None) -> Result:
        self.rollout.options = replace(self.rollout.options, policy=policy, revert_on=revert_on)
        return self.rollout.execute(plan, self.scheduler.fleet_of(APP_IDS))

    def report(self) -> dict[str, object]:
        [path] = self.dump.glob("report-*.json")
        loaded: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
        return loaded


def new_bed(tmp_path: Path, store: Callable[..., FileStore] = FileStore) -> Bed:
    """The rollout on the in-memory scheduler; ``store`` makes the state store (FileStore's arguments)."""
    time = FakeTime()
    scheduler = FakeScheduler(time, images={APP_IDS[s]: image for s, image in OLD.items()})
    dump, stderr = tmp_path / "dump", io.StringIO()
    console = Console(stdout=io.StringIO(), stderr=stderr)
    options = RolloutOptions(command="run", env="prod", dump=dump, lock_dir=tmp_path / "locks", actor="ci",
                             build_url=None, marathon="http://marathon.test", timeout=TIMEOUT, parallel=1, force=False)
    rollout = Rollout(options, console, scheduler, Silent(),
                      ReportFiles(dump, fallbacks=(), warn=console.warn, error=console.error, plain=console.plain),
                      store=store(lock_dir=tmp_path / "locks", ledger=dump / "ledger.jsonl", dump=dump),
                      date="2026-11-19", time_hooks=TimeHooks(clock=time.monotonic, wait=time.wait, now=time.now))
    return Bed(scheduler, time, rollout, stderr, dump)


@pytest.fixture
def bed(tmp_path: Path) -> Bed:
    return new_bed(tmp_path)


def image_plan() -> Plan:
    return plan_for_images(NEW, current=OLD, app_ids=APP_IDS, waves=WAVES, env="prod", reason="release of the date")


def test_an_unhealthy_service_puts_every_service_the_run_touched_back(bed: Bed) -> None:
    bed.scheduler.unhealthy.add(NEW["web"])
    result = bed.run(image_plan())

    assert (result.state, result.exit_code) == (State.ROLLBACK_COMPLETED, 1)
    assert result.states == [State.RUNNING, State.FAILED, State.ROLLING_BACK, State.ROLLBACK_COMPLETED]
    by = {o.service: o for o in result.outcomes}
    assert by["api"].status == by["web"].status == Status.ROLLED_BACK
    assert by["web"].failure_class == FailureClass.UNHEALTHY and "unhealthy after 30s" in (by["web"].error or "")
    assert by["worker"].status == Status.NOT_STARTED       # the second wave never started: nothing to put back
    # forward in wave order, then back; worker never touched
    assert bed.scheduler.changes == [(APP_IDS["api"], NEW["api"], None), (APP_IDS["web"], NEW["web"], None),
                                     (APP_IDS["api"], OLD["api"], None), (APP_IDS["web"], OLD["web"], None)]
    assert {s: bed.scheduler.images[a] for s, a in APP_IDS.items()} == OLD
    # on the fake clock: api's 2 s deployment is seen over at the poll after it (polls at 0, 0.5, 1.25,
    # 2.25 s); web, started then, fails when the wave's deadline passes, --timeout after the wave began
    assert (by["api"].seconds, by["web"].seconds) == (2.25, TIMEOUT - 2.25)
    report = bed.report()
    assert report["state"] == "ROLLBACK_COMPLETED" and report["states"] == [str(s) for s in result.states]


def test_a_failure_outside_rollback_on_is_not_reverted_and_says_why(bed: Bed) -> None:
    bed.scheduler.rejected.add(NEW["web"])
    result = bed.run(image_plan(), revert_on=frozenset({FailureClass.DEADLINE, FailureClass.UNHEALTHY}))

    assert (result.state, result.exit_code) == (State.FAILED, 1)
    assert State.ROLLING_BACK not in result.states
    by = {o.service: o for o in result.outcomes}
    assert (by["api"].status, by["web"].status, by["web"].failure_class) == (
        Status.SUCCEEDED, Status.FAILED, FailureClass.REJECTED)
    assert bed.scheduler.changes == [(APP_IDS["api"], NEW["api"], None)]
    assert "no automatic rollback: the failure (rejected) is not one a rollback can fix" in bed.stderr.getvalue()


def test_without_rollback_on_any_failure_is_reverted(bed: Bed) -> None:
    bed.scheduler.rejected.add(NEW["web"])
    result = bed.run(image_plan())
    assert result.state == State.ROLLBACK_COMPLETED
    assert bed.scheduler.changes[-1] == (APP_IDS["api"], OLD["api"], None)
    assert {o.service: o.status for o in result.outcomes}["web"] == Status.ROLLED_BACK


def test_a_revert_that_fails_names_each_service_it_could_not_put_back(bed: Bed) -> None:
    bed.scheduler.unhealthy.update({NEW["web"], OLD["web"]})    # the old image is broken now too
    result = bed.run(image_plan())

    assert (result.state, result.exit_code) == (State.ROLLBACK_FAILED, 1)
    by = {o.service: o for o in result.outcomes}
    assert by["api"].status == Status.ROLLED_BACK
    assert by["web"].status == Status.ROLLBACK_FAILED
    first, _, then = (by["web"].error or "").partition("; rollback failed: ")
    assert "unhealthy after 30s" in first and "unhealthy after 30s" in then
    assert bed.report()["state"] == "ROLLBACK_FAILED"


def test_a_scheduler_gone_when_the_revert_begins_leaves_every_touched_service_named(bed: Bed) -> None:
    bed.scheduler.unhealthy.add(NEW["web"])
    bed.scheduler.unreadable = True                              # apps() fails: only the revert reads again
    result = bed.run(image_plan())

    assert (result.state, result.exit_code) == (State.ROLLBACK_FAILED, 1)
    by = {o.service: o for o in result.outcomes}
    for service in ("api", "web"):
        assert by[service].status == Status.ROLLBACK_FAILED
        assert "rollback not started: cannot reach Marathon" in (by[service].error or "")
    assert by["worker"].status == Status.NOT_STARTED
    assert len(bed.scheduler.changes) == 2                       # nothing was sent back
    assert result.states[-1] == State.ROLLBACK_FAILED


def test_stop_and_continue_never_revert(bed: Bed) -> None:
    bed.scheduler.unhealthy.add(NEW["api"])
    result = bed.run(image_plan(), policy=FailurePolicy.CONTINUE)
    assert (result.state, State.ROLLING_BACK in result.states) == (State.FAILED, False)
    # continue: web in the same wave and worker in the next still went ahead
    assert [change[0] for change in bed.scheduler.changes] == [APP_IDS["api"], APP_IDS["web"], APP_IDS["worker"]]


def test_a_with_config_run_is_reverted_to_the_snapshots_whole_definitions(bed: Bed) -> None:
    """--with-config replaced whole definitions: the revert puts the snapshot's stored versions back."""
    stored = {APP_IDS[s]: {f"stored-{OLD[s]}": OLD[s], f"2026-11-19-{s}": NEW[s]} for s in OLD}
    bed.scheduler.stored.update(stored)
    bed.scheduler.unhealthy.add(NEW["web"])
    plan = plan_for_versions({s: f"2026-11-19-{s}" for s in OLD}, images=NEW,
                             current_versions={s: f"stored-{OLD[s]}" for s in OLD}, current=OLD, app_ids=APP_IDS,
                             waves=WAVES, env="prod", reason="the definition of the date")
    result = bed.run(plan)

    assert result.state == State.ROLLBACK_COMPLETED
    assert bed.scheduler.changes[2:] == [(APP_IDS["api"], OLD["api"], f"stored-{OLD['api']}"),
                                         (APP_IDS["web"], OLD["web"], f"stored-{OLD['web']}")]
