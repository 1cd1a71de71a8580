"""``status``: what runs now, what is in flight, who holds the lock (in which store), how the last run ended.

Read-only: it writes no file, takes no lock and changes nothing in Marathon. When Marathon cannot
be read it still shows the lock and the last run (what one needs when Marathon is sick), then
exits 4 like any command that needs an unreachable Marathon.
"""

from __future__ import annotations

import datetime as dt

from ..console import Console
from ..errors import UnreachableError
from .. import factory
from ..report.status import LockView, build_status, render_status, status_json
from ..planning.make import load_index
from ..settings.commands import StatusSettings
from ..state.store import StateStore, last_run


def lock_view(store: StateStore, env: str) -> LockView:
    """The lock, and an interrupted run: a run-in-flight record that is not the live holder's."""
    record, held = store.holder(env)
    gone = store.in_flight(env)
    if gone is not None and held and record is not None and record.run_id == gone.run_id:
        gone = None  # that run is alive: it holds the lock
    return LockView(store=store.describe(), record=record, held=held, interrupted=gone)


def execute(settings: StatusSettings, console: Console) -> int:
    index = load_index(settings.common.dump, env=settings.env, date=None)
    with factory.Clients(settings) as clients:
        store = clients.store()
        lock = lock_view(store, settings.env)
        last = last_run(store.entries(settings.env), settings.env)
        platform = clients.platform()
    failure: UnreachableError | None = None
    try:
        peeks = platform.peek(index.services)
        deployments = platform.deployments()
    except UnreachableError as err:
        failure, peeks, deployments = err, {}, []
    status = build_status(index, peeks, deployments, now=dt.datetime.now(dt.timezone.utc), lock=lock,
                          last_run=last.summary() if last else None, unreachable=str(failure) if failure else None)
    if settings.common.json:
        console.json(status_json(status))
    else:
        console.result(render_status(status))
    if failure is not None:
        raise failure
    return 0
