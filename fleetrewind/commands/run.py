"""``run``: roll the fleet back to --date (or to the ledger's last good state)."""

from __future__ import annotations

from .. import factory
from ..console import Console
from ..marathon.appmap import order_waves
from ..rollout.ledger import last_good
from ..planning.build import plan_for_images, render_table, scoped
from ..planning.usecase import say_nothing_to_do, select_services, show_plan, shown
from .changing import print_result, rollout as start_rollout
from ..planning.witness import refuse
from ..settings import Settings


def execute(settings: Settings, console: Console) -> int:
    assert settings.env
    client = factory.marathon_client(settings)
    if settings.to_last_good:
        entry = last_good(settings.ledger_file, settings.env)
        recorded: dict[str, str] = entry["images"]
        selection = select_services(settings.scope, list(recorded), source="the ledger's last good state",
                                    pins=False)
        if not selection.selected:
            return say_nothing_to_do(console, settings.scope, selection, env=settings.env, date=settings.date,
                                     as_json=settings.json)
        images = {s: recorded[s] for s in selection.selected}
        fleet = factory.fleet(client, list(images), settings)
        plan = plan_for_images(images, current=fleet.images, app_ids=fleet.app_ids, problems=fleet.problems,
                               waves=order_waves(list(images), settings.waves), env=settings.env,
                               reason=f"last good state ({entry.get('at')}, {entry.get('command')})")
        plan = scoped(plan, selection, settings.scope, left_out=shown(factory.left_out_apps(client, settings, selection)))
        date = None
        console.info(f"last good state of {settings.env}: {entry.get('at')} by {entry.get('actor')}")
        if settings.dry_run:
            show_plan(console, plan, as_json=settings.json, dump=settings.dump, index=None)
            return 0
    else:
        assert settings.date
        index, selection = factory.date_selection(settings)
        if not selection.selected:
            return say_nothing_to_do(console, settings.scope, selection, env=settings.env, date=settings.date,
                                     as_json=settings.json, rule=settings.rule)
        plan, fleet = factory.date_plan(client, settings, index, selection)
        date = settings.date
        if settings.dry_run:
            show_plan(console, plan, as_json=settings.json, dump=settings.dump, index=index)
            return 0
        if not settings.json:
            console.result(render_table(plan))
        refuse(plan, strict=settings.strict, with_config=settings.with_config)
    rollout = start_rollout(settings, console, client, command="run", env=settings.env, date=date)
    result = rollout.execute(plan, fleet, policy=settings.on_failure)
    print_result(console, result, as_json=settings.json)
    return result.exit_code
