"""``run``: roll the fleet back to --date (or to the ledger's last good state)."""

from __future__ import annotations

import json

from .. import factory
from ..console import Console
from ..marathon.appmap import order_waves
from ..rollout.ledger import last_good
from ..planning.build import plan_for_images, render_table, scoped
from ..planning.usecase import say_nothing_to_do, select_services, show_plan, shown
from .changing import print_result, rollout as start_rollout
from ..planning.witness import refuse
from ..settings import Settings
from ..errors import RefusedError, RollbackError, UnreachableError, UsageError
from ..marathon.client import MarathonClient
from ..marathon.fleet import FleetState, load_apps
from ..releases.index import INDEX_NAME
from ..planning import planfile


def execute(settings: Settings, console: Console) -> int:
    assert settings.env
    client = factory.marathon_client(settings)
    if settings.plan_file:
        return _run_saved(settings, console, client, planfile.read_plan(settings.plan_file))
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
        plan, fleet = factory.date_plan(client, settings, index, selection, confirm=not settings.dry_run)
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


def _run_saved(settings: Settings, console: Console, client: MarathonClient, saved: planfile.SavedPlan) -> int:
    """run --plan: exactly the saved plan, or nothing (exit 3) when its inputs moved since."""
    plan = saved.plan
    if plan.env != settings.env:
        raise UsageError(f"--plan {saved.path} was made for env {plan.env!r}, not {settings.env!r}")
    app_ids = {s.service: s.app_id for s in plan.steps if s.service in saved.inputs.versions and s.app_id}

    def current() -> FleetState:  # before the lock, and again once it is held
        try:
            fleet = load_apps(client, app_ids, parallel=settings.parallel)
        except UnreachableError:
            raise
        except RollbackError as err:
            raise RefusedError(f"the plan {saved.path.name} is stale: {err}; nothing was changed; "
                               "make a new plan and approve it again") from None
        planfile.refuse_stale(saved, fleet.versions, _index_digest(settings))
        return fleet

    fleet = current()
    console.info(f"run --plan: {saved.path} (made {saved.created_at} by {saved.created_by}): "
                 f"{len(plan.changes())} of {len(plan.steps)} services change; nothing moved since")
    if not settings.json:
        console.result(render_table(plan))
    rollout = start_rollout(settings, console, client, command="run", env=plan.env, date=plan.date)
    result = rollout.execute(plan, fleet, policy=settings.on_failure, recheck=current)
    print_result(console, result, as_json=settings.json)
    return result.exit_code


def _index_digest(settings: Settings) -> str | None:
    """rollback.json of --dump as it is now (None when there is none: the plan holds what run needs)."""
    try:
        text = (settings.dump / INDEX_NAME).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {settings.dump / INDEX_NAME}: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except ValueError:
        return "unreadable"
    return planfile.index_digest(document) if isinstance(document, dict) else "unreadable"
