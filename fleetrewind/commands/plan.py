"""``plan``: what a rollback to --date would change, service by service (changes nothing)."""

from __future__ import annotations

from .. import factory
from ..console import Console
from ..errors import RollbackError
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
    for warning in timeout_warnings([s.service for s in plan.changes()], fleet.apps, settings.timeout):
        console.warn(warning)
    return 0
