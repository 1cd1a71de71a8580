"""``status``: what runs now, what is in flight, who holds the lock, how the last run ended.

Read-only: it writes no file, takes no lock and changes nothing in Marathon. When Marathon cannot
be read it still shows the lock and the last run (what one needs when Marathon is sick), then
exits 4 like any command that needs an unreachable Marathon.
"""

from __future__ import annotations

import datetime as dt

from ..console import Console
from ..errors import UnreachableError
from .. import factory
from ..report.status import build_status, render_status, status_json
from ..rollout.ledger import last_entry
from ..rollout.lock import holder
from ..planning.make import load_index
from ..settings.commands import StatusSettings


def execute(settings: StatusSettings, console: Console) -> int:
    index = load_index(settings.common.dump, env=settings.env, date=None)
    lock = holder(settings.files.lock_dir, settings.env)
    last_run = last_entry(settings.files.ledger, settings.env)
    platform = factory.platform(settings.marathon)
    failure: UnreachableError | None = None
    try:
        peeks = platform.peek(index.services)
        deployments = platform.client.deployments()
    except UnreachableError as err:
        failure, peeks, deployments = err, {}, []
    status = build_status(index, peeks, deployments, now=dt.datetime.now(dt.timezone.utc), lock=lock,
                          last_run=last_run, unreachable=str(failure) if failure else None)
    if settings.common.json:
        console.json(status_json(status))
    else:
        console.result(render_status(status))
    if failure is not None:
        raise failure
    return 0
