"""make_plan, the one plan use case, for each target a command asks: the journal's last good state (run
--to=last-good), a release (deploy) and an approved plan file (run --plan). In memory: a fleet of three
apps behind the platform protocol, and the journal as the inputs give it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pytest

from fleetrewind.errors import RefusedError, UsageError
from fleetrewind.model.checks import FAILED_BEFORE
from fleetrewind.model.evidence import Deployed
from fleetrewind.model.journal import RunEntry
from fleetrewind.model.plan import CHANGE, EXCLUDED, UNCHANGED
from fleetrewind.model.scope import Scope
from fleetrewind.planning import planfile
from fleetrewind.planning.make import Approved, LastGood, PlanRequest, Release, make_plan
from fleetrewind.planning.witness import Evidence
from fleetrewind.platform.fleet import FleetState, Peek
from fleetrewind.platform.timeline import Failed
from fleetrewind.releases.index import Index

RUNS = {"api": "reg:5000/api:3-master", "web": "reg:5000/web:3-master", "worker": "reg:5000/worker:3-master"}
APP_IDS = {s: f"/shop/prod/{s}" for s in RUNS}


@dataclass
class Fleet:
    """The platform protocol as far as planning reads it: the apps, their images and versions."""

    images: dict[str, str] = field(default_factory=lambda: dict(RUNS))
    versions: dict[str, str] = field(default_factory=lambda: {s: "2026-11-20T10:00:00.000Z" for s in RUNS})
    reads: list[tuple[str, ...]] = field(default_factory=list)

    def fleet(self, services: Sequence[str]) -> FleetState:
        self.reads.append(tuple(services))
        return self.apps({s: APP_IDS[s] for s in services})

    def apps(self, app_ids: Mapping[str, str]) -> FleetState:
        return FleetState(app_ids=dict(app_ids),
                          apps={s: {"id": a, "container": {"docker": {"image": self.images[s]}}} for s, a in app_ids.items()},
                          images={s: self.images[s] for s in app_ids}, problems={s: None for s in app_ids},
                          versions={s: self.versions[s] for s in app_ids})

    def peek(self, services: Sequence[str]) -> dict[str, Peek]:
        return {s: Peek(app_id=APP_IDS[s], app=None, image=self.images[s]) for s in services}


@dataclass
class Journal:
    """The inputs planning reads besides the platform."""

    last: RunEntry | None = None
    deployed: dict[str, list[Deployed]] = field(default_factory=dict)
    digest: str | None = "sha256:index"

    def index(self, env: str, date: str | None) -> Index:
        raise AssertionError("these targets read no rollback.json")

    def failed(self, env: str) -> Mapping[str, Sequence[Failed]]:
        return {}

    def evidence(self, env: str) -> Evidence:
        return Evidence(deployed=self.deployed)

    def last_good(self, env: str) -> RunEntry:
        if self.last is None:
            raise UsageError("no journal entries: use --date instead of --to=last-good")
        return self.last

    def index_digest(self) -> str | None:
        return self.digest


GOOD = RunEntry(env="prod", at="2026-11-19T08:00:00Z", command="run", actor="ci", state="SUCCEEDED",
                images={"api": "reg:5000/api:1-master", "web": "reg:5000/web:3-master", "worker": "reg:5000/worker:1-master"})


def test_last_good_puts_back_the_journals_images_and_shows_the_left_out_ones() -> None:
    fleet = Fleet()
    request = PlanRequest(env="prod", target=LastGood(), scope=Scope(exclude=("worker",)))
    planned = make_plan(request, lambda: fleet, Journal(last=GOOD))

    steps = {s.service: s for s in planned.plan.steps}
    assert (steps["api"].action, steps["api"].target) == (CHANGE, "reg:5000/api:1-master")
    assert steps["web"].action == UNCHANGED and steps["worker"].action == EXCLUDED
    assert fleet.reads == [("api", "web")]  # the excluded worker is peeked, not planned
    assert planned.date is None and planned.note == "last good state of prod: 2026-11-19T08:00:00Z by ci"


def test_last_good_with_nothing_in_scope_never_opens_the_platform() -> None:
    def closed() -> Fleet:
        raise AssertionError("an empty selection needs no scheduler")
    request = PlanRequest(env="prod", target=LastGood(), scope=Scope(exclude=("api", "web", "worker")))
    planned = make_plan(request, closed, Journal(last=GOOD))
    assert planned.fleet is None and planned.selection.selected == ()


def test_last_good_without_a_journal_entry_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--to=last-good"):
        make_plan(PlanRequest(env="prod", target=LastGood()), Fleet, Journal())


def test_a_release_keeps_the_repository_and_flags_an_image_this_tool_rolled_back() -> None:
    when = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.timezone.utc)
    rolled_back = Deployed(service="api", image="reg:5000/api:4-master", run="20261118T090000Z", started=when,
                           finished=when, healthy=False, watched=120.0, rolled_back=True)
    request = PlanRequest(env="prod", target=Release((("api", "4-master"), ("web", "reg:5000/web:3-master"))))
    planned = make_plan(request, Fleet, Journal(deployed={"api": [rolled_back]}))

    steps = {s.service: s for s in planned.plan.steps}
    assert (steps["api"].action, steps["api"].target) == (CHANGE, "reg:5000/api:4-master")
    assert steps["web"].action == UNCHANGED and "worker" not in steps
    assert [(c.kind, c.service) for c in planned.plan.checks] == [(FAILED_BEFORE, "api")]


def _approved(tmp_path: Path, fleet: Fleet) -> Path:
    planned = make_plan(PlanRequest(env="prod", target=LastGood()), lambda: fleet, Journal(last=GOOD))
    inputs = planfile.PlanInputs(index_digest="sha256:index", versions=dict(fleet.versions), rule=planned.plan.rule,
                                 moment={"date": None, "at": None}, scope=planned.plan.scope.as_dict(), flags={})
    return planfile.write_plan(tmp_path / "plan.json", planfile.SavedPlan(
        plan=planned.plan, inputs=inputs, created_by="alice", created_at="2026-11-20T10:00:00Z"))


def test_an_approved_plan_is_carried_out_as_saved_and_read_again_once_the_lock_is_held(tmp_path: Path) -> None:
    fleet = Fleet()
    path = _approved(tmp_path, fleet)
    planned = make_plan(PlanRequest(env="prod", target=Approved(path)), lambda: fleet, Journal())

    assert [(s.service, s.action) for s in planned.plan.steps] == [("api", CHANGE), ("web", UNCHANGED),
                                                                    ("worker", CHANGE)]
    assert "made 2026-11-20T10:00:00Z by alice" in planned.note and planned.recheck is not None
    fleet.versions["web"] = "2026-11-21T07:00:00.000Z"  # someone deployed web after the approval
    with pytest.raises(RefusedError, match="stale"):
        planned.recheck()


def test_an_approved_plan_is_refused_for_another_environment_or_a_new_index(tmp_path: Path) -> None:
    fleet = Fleet()
    path = _approved(tmp_path, fleet)
    with pytest.raises(UsageError, match="made for env 'prod', not 'qa'"):
        make_plan(PlanRequest(env="qa", target=Approved(path)), lambda: fleet, Journal())
    with pytest.raises(RefusedError, match="rollback.json changed"):
        make_plan(PlanRequest(env="prod", target=Approved(path)), lambda: fleet, Journal(digest="sha256:new"))
