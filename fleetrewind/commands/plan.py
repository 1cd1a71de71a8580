"""``plan``: what a rollback to --date would change, service by service (changes nothing)."""

from __future__ import annotations

from ..factory import marathon_client
from ..console import Console
from ..errors import UsageError
from ..marathon.fleet import FleetState, load_fleet
from ..releases.index import Index, check_offered, read_index
from ..report.matrix import write_matrix
from ..rollout.plan import Plan, plan_for_date, plan_json, render_table
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


def build_plan(settings: Settings, index: Index, fleet: FleetState, date: str) -> Plan:
    from ..marathon.appmap import order_waves

    waves = order_waves(index.services, settings.waves)
    return plan_for_date(index, date, current=fleet.images, app_ids=fleet.app_ids, waves=waves,
                         pin_digest=settings.pin_digest)


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
    client = marathon_client(settings)
    fleet = load_fleet(client, index.services, settings)
    plan = build_plan(settings, index, fleet, settings.date)
    show_plan(settings, console, index, plan)
    return 0
