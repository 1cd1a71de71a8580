"""``run``: roll the fleet back to --date (or to the ledger's last good state)."""

from __future__ import annotations

from ..marathon.appmap import order_waves
from ..factory import marathon_client
from ..console import Console
from ..marathon.fleet import load_fleet
from ..rollout.ledger import last_good
from ..notify.slack import make_notifier
from ..rollout.plan import plan_for_images, render_table, scoped
from ..rollout.usecase import Rollout, print_result
from ..settings import Settings
from .plan import build_plan, left_out_apps, load_index_for, say_nothing_to_do, select_for, show_plan


def execute(settings: Settings, console: Console) -> int:
    assert settings.env
    client = marathon_client(settings)
    if settings.to_last_good:
        entry = last_good(settings.ledger_file, settings.env)
        recorded: dict[str, str] = entry["images"]
        selection = select_for(settings, list(recorded), source="the ledger's last good state", pins=False)
        if not selection.selected:
            return say_nothing_to_do(settings, console, selection)
        images = {s: recorded[s] for s in selection.selected}
        fleet = load_fleet(client, list(images), settings)
        plan = plan_for_images(images, current=fleet.images, app_ids=fleet.app_ids,
                               waves=order_waves(list(images), settings.waves), env=settings.env,
                               reason=f"last good state ({entry.get('at')}, {entry.get('command')})")
        plan = scoped(plan, selection, settings.scope, left_out=left_out_apps(client, settings, selection))
        date = None
        console.info(f"last good state of {settings.env}: {entry.get('at')} by {entry.get('actor')}")
        if settings.dry_run:
            show_plan(settings, console, None, plan)
            return 0
    else:
        assert settings.date
        index = load_index_for(settings)
        selection = select_for(settings, index.services)
        if not selection.selected:
            return say_nothing_to_do(settings, console, selection)
        fleet = load_fleet(client, selection.selected, settings)
        plan = build_plan(settings, index, fleet, settings.date, selection,
                          left_out_apps(client, settings, selection))
        date = settings.date
        if settings.dry_run:
            show_plan(settings, console, index, plan)
            return 0
        if not settings.json:
            console.result(render_table(plan))
    rollout = Rollout(settings, console, client, make_notifier(settings, console.warn), command="run", date=date)
    result = rollout.execute(plan, fleet, policy=settings.on_failure)
    print_result(console, result, as_json=settings.json)
    return result.exit_code
