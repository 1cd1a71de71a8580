"""run --plan's second look (rollout/usecase.py ``recheck``): the fleet is read again once the lock is
held, and a plan gone stale in between is refused before the snapshot, with nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetrewind.errors import RefusedError
from fleetrewind.marathon.fleet import FleetState
from fleetrewind.model.states import State
from fleetrewind.state.file import FileStore
from tests.unit.test_rollout_revert import APP_IDS, Bed, bed, image_plan  # noqa: F401 (bed is a fixture)


def test_the_second_look_happens_under_the_lock_and_a_stale_plan_changes_nothing(bed: Bed, tmp_path: Path) -> None:
    holders = []

    def moved() -> FleetState:
        holders.append(FileStore(lock_dir=tmp_path / "locks", ledger=tmp_path / "l.jsonl", dump=tmp_path).holder("prod"))
        raise RefusedError("the plan plan.json is stale: api (/shop/prod/api) is at version 2, planned from 1")

    with pytest.raises(RefusedError, match="is stale"):
        bed.rollout.execute(image_plan(), bed.scheduler.fleet_of(APP_IDS), recheck=moved)

    [(record, _alive)] = holders
    assert record is not None and record.command == "run"  # the lock was held while it looked
    assert bed.scheduler.changes == []
    assert not list(bed.dump.glob("snapshot-*.json"))
    assert FileStore(lock_dir=tmp_path / "locks", ledger=tmp_path / "l.jsonl", dump=tmp_path).holder("prod")[0] is None


def test_a_plan_still_current_runs_on_the_fleet_the_second_look_read(bed: Bed) -> None:
    looks = []

    def again() -> FleetState:
        looks.append(1)
        return bed.scheduler.fleet_of(APP_IDS)

    result = bed.rollout.execute(image_plan(), bed.scheduler.fleet_of(APP_IDS), recheck=again)

    assert looks == [1] and result.state == State.SUCCEEDED
