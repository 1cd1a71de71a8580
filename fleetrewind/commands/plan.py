"""``plan``: what a rollback to --date would change, service by service (changes nothing)."""

from __future__ import annotations

import datetime as dt
import json

from .. import factory
from ..console import Console
from ..errors import RollbackError
from ..marathon.fleet import FleetState
from ..model.plan import Plan
from ..planning import planfile
from ..planning.usecase import say_nothing_to_do, show_plan
from ..planning.witness import refuse
from ..rollout.stuck import timeout_warnings
from ..settings import Settings


def execute(settings: Settings, console: Console) -> int:
    assert settings.date
    index, selection = factory.date_selection(settings)
    if not selection.selected:
        return say_nothing_to_do(console, settings.scope, selection, env=settings.env, date=settings.date,
                                 as_json=settings.json, rule=settings.rule)
    client = factory.marathon_client(settings)
    plan, fleet = factory.date_plan(client, settings, index, selection)
    try:
        refuse(plan, strict=settings.strict, with_config=settings.with_config)
    except RollbackError:
        show_plan(console, plan, as_json=settings.json, dump=settings.dump, index=None)  # why; nothing written
        raise
    show_plan(console, plan, as_json=settings.json, dump=settings.dump, index=index)
    if settings.plan_out:
        path = planfile.write_plan(settings.plan_out, _saved(plan, fleet, settings))
        console.info(f"plan written to {path}; carry it out with: rollback.py run --plan={path} --env={plan.env}")
    for warning in timeout_warnings([s.service for s in plan.changes()], fleet.apps, settings.timeout):
        console.warn(warning)
    return 0


def _saved(plan: Plan, fleet: FleetState, settings: Settings) -> planfile.SavedPlan:
    """The plan and what it was made from (rollback.json as read, each app's version now, the flags)."""
    document = json.loads((settings.dump / "rollback.json").read_text(encoding="utf-8"))
    inputs = planfile.PlanInputs(index_digest=planfile.index_digest(document), versions=fleet.versions,
                                 rule=plan.rule, moment={"date": plan.date, "at": plan.at.isoformat() if plan.at else None},
                                 scope=plan.scope.as_dict(),
                                 flags={"strict": settings.strict, "with_config": settings.with_config,
                                        "pin_digest": settings.pin_digest})
    return planfile.SavedPlan(plan=plan, inputs=inputs, created_by=settings.actor,
                              created_at=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
