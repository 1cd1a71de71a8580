"""``run``: roll the fleet back to --date (or to the ledger's last good state)."""

from __future__ import annotations

import json

from .. import factory
from ..console import Console
from ..errors import RefusedError, RollbackError, UnreachableError, UsageError
from ..model.plan import Plan
from ..planning.build import render_table, scoped
from ..planning.make import make_plan, plan_images, select_services
from ..planning import planfile
from ..planning.witness import refuse
from ..platform.fleet import FleetState
from ..platform.protocol import Platform
from ..releases.index import INDEX_NAME
from ..state.store import StateStore, last_good
from ..settings.commands import RunSettings
from .changing import print_result, rollout as start_rollout
from .show import say_nothing_to_do, show_plan


def execute(settings: RunSettings, console: Console) -> int:
    with factory.journal(settings.files, settings.common.dump) as store:  # unreachable: exit 4, nothing read
        return _run(settings, console, store)


def _run(settings: RunSettings, console: Console, store: StateStore) -> int:
    common, env, request = settings.common, settings.env, settings.request
    platform = factory.platform(settings.marathon)
    if settings.plan_file:
        return _run_saved(settings, console, platform, store, planfile.read_plan(settings.plan_file))
    if request is None:  # --to=last-good
        where = str(settings.files.ledger) if settings.files.state.kind == "file" else store.describe()
        entry = last_good(store.entries(env), env, where)
        recorded: dict[str, str] = dict(entry.images)
        selection = select_services(settings.scope, list(recorded), source="the ledger's last good state",
                                    pins=False)
        if not selection.selected:
            nothing = scoped(Plan(env=env, date=None, steps=()), selection, settings.scope)
            return say_nothing_to_do(console, nothing, selection, as_json=common.json)
        images = {s: recorded[s] for s in selection.selected}
        plan, fleet = plan_images(images, platform, env=env, scope=settings.scope, selection=selection,
                                  waves=settings.rollout.waves,
                                  reason=f"last good state ({entry.at}, {entry.command})")
        date = None
        console.info(f"last good state of {env}: {entry.at} by {entry.actor}")
        if settings.dry_run:
            show_plan(console, plan, as_json=common.json, dump=common.dump, index=None)
            return 0
    else:
        planned = make_plan(request, lambda: platform, factory.inputs(common.dump, store),
                            confirm=not settings.dry_run)
        if planned.fleet is None:
            return say_nothing_to_do(console, planned.plan, planned.selection, as_json=common.json)
        plan, fleet, date = planned.plan, planned.fleet, request.date
        if settings.dry_run:
            show_plan(console, plan, as_json=common.json, dump=common.dump, index=planned.index)
            return 0
        if not common.json:
            console.result(render_table(plan))
        refuse(plan, strict=request.strict, with_config=request.with_config)
    rollout = start_rollout(settings, console, platform, store, command="run", env=env, date=date)
    result = rollout.execute(plan, fleet, policy=settings.on_failure)
    print_result(console, result, as_json=common.json)
    return result.exit_code


def _run_saved(settings: RunSettings, console: Console, platform: Platform, store: StateStore,
               saved: planfile.SavedPlan) -> int:
    """run --plan: exactly the saved plan, or nothing (exit 3) when its inputs moved since."""
    plan = saved.plan
    if plan.env != settings.env:
        raise UsageError(f"--plan {saved.path} was made for env {plan.env!r}, not {settings.env!r}")
    app_ids = {s.service: s.app_id for s in plan.steps if s.service in saved.inputs.versions and s.app_id}

    def current() -> FleetState:  # before the lock, and again once it is held
        try:
            fleet = platform.apps(app_ids)
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
    if not settings.common.json:
        console.result(render_table(plan))
    rollout = start_rollout(settings, console, platform, store, command="run", env=plan.env, date=plan.date)
    result = rollout.execute(plan, fleet, policy=settings.on_failure, recheck=current)
    print_result(console, result, as_json=settings.common.json)
    return result.exit_code


def _index_digest(settings: RunSettings) -> str | None:
    """rollback.json of --dump as it is now (None when there is none: the plan holds what run needs)."""
    dump = settings.common.dump
    try:
        text = (dump / INDEX_NAME).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {dump / INDEX_NAME}: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except ValueError:
        return "unreadable"
    return planfile.index_digest(document) if isinstance(document, dict) else "unreadable"
