"""``plan``: what a rollback to --date would change, service by service (changes nothing)."""

from __future__ import annotations

from typing import Mapping, Sequence

from ..factory import marathon_client
from ..console import Console
from ..errors import UsageError
from ..marathon.client import MarathonClient
from ..marathon.fleet import FleetState, load_fleet, peek_apps
from ..releases.index import Index, check_offered, read_index
from ..report.matrix import write_matrix
from ..rollout.plan import Plan, plan_for_date, plan_json, render_table, scoped
from ..rollout.scope import Selection, check_known, nothing_left, select
from ..rollout.stuck import timeout_warnings
from ..settings import Settings


def load_index_for(settings: Settings) -> Index:
    """rollback.json of --dump, for --env, offering --date (exit 2 otherwise)."""
    index = read_index(settings.dump)
    if index.env != settings.env:
        raise UsageError(f"{settings.dump / 'rollback.json'} was made for env {index.env!r}, not {settings.env!r}; "
                         f"run get --env={settings.env} (or use another --dump)")
    if settings.date:
        check_offered(index, settings.date)
    return index


def select_for(settings: Settings, services: Sequence[str], *, source: str = "rollback.json",
               pins: bool = True) -> Selection:
    """--only, --exclude and pinned applied to ``services``; a name outside them is exit 2 (no I/O yet)."""
    check_known(settings.scope, services, source=source, pins=pins)
    return select(services, settings.scope)


def say_nothing_to_do(settings: Settings, console: Console, selection: Selection) -> int:
    """An empty selection: one line (or a JSON object), exit 0, nothing read or written."""
    message = nothing_left(settings.scope, selection)
    if settings.json:
        console.json({"env": settings.env, "date": settings.date, "state": "NOTHING_TO_DO", "message": message,
                      "scope": {**settings.scope.as_dict(), "in_scope": [], "excluded": list(selection.left_out)},
                      "summary": {"changed": 0, "failed": 0, "unchanged": 0, "skipped": 0}})
    else:
        console.result(message)
    return 0


def left_out_apps(client: MarathonClient, settings: Settings,
                  selection: Selection) -> dict[str, tuple[str | None, str | None]]:
    """What the services outside the selection run (read only, best effort): the plan shows them."""
    if not selection.left_out:
        return {}
    assert settings.env
    peeks = peek_apps(client, list(selection.left_out), env=settings.env, overrides=settings.app_ids,
                      app_group=settings.app_group, parallel=settings.parallel)
    return {service: (peek.app_id, peek.image) for service, peek in peeks.items()}


def build_plan(settings: Settings, index: Index, fleet: FleetState, date: str, selection: Selection | None = None,
               left_out: Mapping[str, tuple[str | None, str | None]] | None = None) -> Plan:
    from ..marathon.appmap import order_waves

    services = selection.selected if selection else index.services
    waves = order_waves(services, settings.waves)
    plan = plan_for_date(index, date, current=fleet.images, app_ids=fleet.app_ids, waves=waves,
                         pin_digest=settings.pin_digest)
    return scoped(plan, selection, settings.scope, left_out=left_out) if selection else plan


def show_plan(settings: Settings, console: Console, index: Index | None, plan: Plan) -> None:
    """The plan on stdout (table or --json), and the release matrix of the date when there is an index."""
    if settings.json:
        console.json(plan_json(plan))
    else:
        console.result(render_table(plan))
    if index is not None:
        write_matrix(settings.dump, index, date=plan.date)


def execute(settings: Settings, console: Console) -> int:
    assert settings.date
    index = load_index_for(settings)
    selection = select_for(settings, index.services)
    if not selection.selected:
        return say_nothing_to_do(settings, console, selection)
    client = marathon_client(settings)
    fleet = load_fleet(client, selection.selected, settings)
    plan = build_plan(settings, index, fleet, settings.date, selection, left_out_apps(client, settings, selection))
    show_plan(settings, console, index, plan)
    for warning in timeout_warnings([s.service for s in plan.changes()], fleet.apps, settings.timeout):
        console.warn(warning)
    return 0
