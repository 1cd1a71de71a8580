"""``run``: roll the fleet back to --date (or to the journal's last good state, or to an approved plan)."""

from __future__ import annotations

from .. import factory
from ..console import Console
from ..planning.build import render_table
from ..planning.make import Approved, LastGood, make_plan
from ..planning.witness import refuse
from ..settings.commands import RunSettings
from .changing import print_result
from .show import plan_request, say_nothing_to_do, show_plan


def execute(settings: RunSettings, console: Console) -> int:
    as_json = settings.common.json
    target = Approved(settings.plan_file) if settings.plan_file else LastGood() if settings.to_last_good else None
    request = plan_request(settings.asks, target=target, confirm=not settings.dry_run)
    with factory.Clients(settings) as clients:
        planned = make_plan(request, clients.platform, clients.inputs())  # a store unreachable: exit 4, nothing read
        plan, fleet = planned.plan, planned.fleet
        if fleet is None:
            return say_nothing_to_do(console, plan, planned.selection, as_json=as_json)
        if planned.note:
            console.info(planned.note)
        if settings.dry_run:
            show_plan(console, plan, as_json=as_json, dump=clients.dump, index=planned.index)
            return 0
        if not as_json and not isinstance(target, LastGood):
            console.result(render_table(plan))
        if target is None:
            refuse(plan, strict=request.strict, with_config=request.with_config)
        rollout = clients.rollout(console, command="run", env=plan.env, date=planned.date)
        result = rollout.execute(plan, fleet, recheck=planned.recheck)
    print_result(console, result, as_json=as_json)
    return result.exit_code
