"""The plan use case shared by ``plan``, ``run``, ``diff`` and ``status``: index, scope, plan, showing it."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from ..console import Console
from ..errors import UsageError
from ..marathon.appmap import order_waves
from ..marathon.fleet import FleetState, Peek, readable
from ..releases.index import Index, check_offered, read_index
from ..report.matrix import write_matrix
from ..model.report import Summary
from ..model.plan import BUILT, GOOD, RAN, Plan, Rule
from .build import plan_for_date, plan_json, render_table, scoped
from ..model.scope import Scope, Selection
from .scope import check_known, nothing_left, select
from ..model.states import State

LeftOut = Mapping[str, tuple[str | None, str | None]]  # service -> (app id, image it runs), as far as known


def load_index(dump: Path, *, env: str | None, date: str | None) -> Index:
    """rollback.json of ``dump``, made for ``env``, offering ``date`` (exit 2 otherwise)."""
    index = read_index(dump)
    if index.env != env:
        raise UsageError(f"{dump / 'rollback.json'} was made for env {index.env!r}, not {env!r}; "
                         f"run get --env={env} (or use another --dump)")
    if date:
        check_offered(index, date)
    return index


def select_services(scope: Scope, services: Sequence[str], *, source: str = "rollback.json",
                    pins: bool = True) -> Selection:
    """--only, --exclude and pinned applied to ``services``; a name outside them is exit 2 (no I/O yet)."""
    check_known(scope, services, source=source, pins=pins)
    return select(services, scope)


def say_nothing_to_do(console: Console, scope: Scope, selection: Selection, *, env: str | None, date: str | None,
                      as_json: bool, rule: Rule = BUILT) -> int:
    """An empty selection: one line (or a JSON object), exit 0, nothing read or written.

    The JSON is a plan like any other (every service excluded, with why; no checks: no history
    was read), plus the state, the message and an empty summary.
    """
    message = nothing_left(scope, selection)
    if as_json:
        plan = scoped(Plan(env=env or "", date=date, steps=(), rule=rule), selection, scope)
        console.json({**plan_json(plan), "state": str(State.NOTHING_TO_DO), "message": message,
                      "summary": Summary().as_dict()})
    else:
        console.result(message)
    return 0


def shown(left_out: Mapping[str, Peek]) -> LeftOut:
    """service -> (app id, image it runs), for the plan's excluded steps."""
    return {service: (peek.app_id, peek.image) for service, peek in left_out.items()}


def whole_fleet(fleet: FleetState, left_out: Mapping[str, Peek]) -> FleetState:
    """The selection's apps and the readable ones left out: the fleet after the run runs them all together,
    so Marathon's history is read for all of them (the checks judge the whole resulting set)."""
    others = readable(left_out)
    return FleetState(app_ids={**fleet.app_ids, **others.app_ids}, apps={**fleet.apps, **others.apps})


def plan_to_date(index: Index, fleet: FleetState, date: str, *, waves: Sequence[Sequence[str]], pin_digest: bool,
                 scope: Scope, selection: Selection | None = None, left_out: LeftOut | None = None) -> Plan:
    """The selected services back on their images of ``date``, in the configured waves."""
    services = selection.selected if selection else index.services
    plan = plan_for_date(index, date, current=fleet.images, app_ids=fleet.app_ids, problems=fleet.problems,
                         waves=order_waves(services, waves), pin_digest=pin_digest)
    return scoped(plan, selection, scope, left_out=left_out) if selection else plan


def show_plan(console: Console, plan: Plan, *, as_json: bool, dump: Path, index: Index | None) -> None:
    """The plan on stdout (table or --json), and the release matrix of the date when there is an index."""
    if as_json:
        console.json(plan_json(plan))
    else:
        console.result(render_table(plan))
    if index is not None:
        targets = {s.service: s.release for s in plan.steps} if plan.rule in (RAN, GOOD) else None
        verdicts = {s.service: str(s.verdict) for s in plan.steps if s.verdict is not None}
        write_matrix(dump, index, date=plan.date, targets=targets, rule=plan.rule, checks=plan.checks,
                     verdicts=verdicts)
