"""``plan``: what a rollback to --date would change, service by service (changes nothing)."""

from __future__ import annotations

from .. import factory
from ..console import Console
from ..errors import RollbackError
from ..rollout.planning import load_index, say_nothing_to_do, select_services, show_plan, shown, whole_fleet
from ..rollout.witness import plan_by_rule, refuse
from ..rollout.stuck import timeout_warnings
from ..settings import Settings


def execute(settings: Settings, console: Console) -> int:
    assert settings.date
    index = load_index(settings.dump, env=settings.env, date=settings.date)
    selection = select_services(settings.scope, index.services)
    if not selection.selected:
        return say_nothing_to_do(console, settings.scope, selection, env=settings.env, date=settings.date,
                                 as_json=settings.json)
    client = factory.marathon_client(settings)
    fleet = factory.fleet(client, selection.selected, settings)
    left_out = factory.left_out_apps(client, settings, selection)
    plan = plan_by_rule(index, fleet, settings.date, factory.history(client, whole_fleet(fleet, left_out), settings),
                        rule=settings.rule, with_config=settings.with_config, waves=settings.waves,
                        pin_digest=settings.pin_digest, scope=settings.scope, selection=selection,
                        left_out=shown(left_out))
    try:
        refuse(plan, strict=settings.strict, with_config=settings.with_config)
    except RollbackError:
        show_plan(console, plan, as_json=settings.json, dump=settings.dump, index=None)  # why; nothing written
        raise
    show_plan(console, plan, as_json=settings.json, dump=settings.dump, index=index)
    for warning in timeout_warnings([s.service for s in plan.changes()], fleet.apps, settings.timeout):
        console.warn(warning)
    return 0
