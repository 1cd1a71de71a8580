"""``plan``: what a rollback to --date would change, service by service (changes nothing)."""

from __future__ import annotations

import datetime as dt
from typing import Mapping

from .. import factory
from ..console import Console
from ..errors import RollbackError
from ..model.plan import Plan
from ..planning import planfile
from ..planning.make import PlanRequest, make_plan
from ..planning.witness import refuse
from ..settings.commands import PlanSettings
from .show import plan_request, say_nothing_to_do, show_plan


def execute(settings: PlanSettings, console: Console) -> int:
    common = settings.common
    request = plan_request(settings.asks)
    with factory.Clients(settings) as clients:
        inputs = clients.inputs()
        planned = make_plan(request, clients.platform, inputs)  # a store unreachable: exit 4, nothing read
        if planned.fleet is None:  # nothing in scope: a plan to run all the same (it changes nothing)
            if settings.out:
                planfile.write_plan(settings.out, _saved(planned.plan, {}, inputs.index_digest(), request, settings))
            return say_nothing_to_do(console, planned.plan, planned.selection, as_json=common.json)
        plan = planned.plan
        try:
            refuse(plan, strict=request.strict, with_config=request.with_config)
        except RollbackError:
            show_plan(console, plan, as_json=common.json, dump=common.dump, index=None)  # why; nothing written
            raise
        show_plan(console, plan, as_json=common.json, dump=common.dump, index=planned.index)
        if settings.out:
            saved = _saved(plan, planned.fleet.versions, inputs.index_digest(), request, settings)
            path = planfile.write_plan(settings.out, saved)
            console.info(f"plan written to {path}; carry it out with: rollback.py run --plan={path} --env={plan.env}")
        for warning in clients.platform().slow_starts(planned.fleet, [s.service for s in plan.changes()],
                                                       settings.timeout):
            console.warn(warning)
    return 0


def _saved(plan: Plan, versions: Mapping[str, str | None], index_digest: str | None, request: PlanRequest,
           settings: PlanSettings) -> planfile.SavedPlan:
    """The plan and what it was made from (rollback.json's digest, each app's version now, the flags)."""
    inputs = planfile.PlanInputs(index_digest=index_digest, versions=versions,
                                 rule=plan.rule, moment={"date": plan.date, "at": plan.at.isoformat() if plan.at else None},
                                 scope=plan.scope.as_dict(),
                                 flags={"strict": request.strict, "with_config": request.with_config,
                                        "pin_digest": request.pin_digest})
    return planfile.SavedPlan(plan=plan, inputs=inputs, created_by=settings.actor,
                              created_at=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
