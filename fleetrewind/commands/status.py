"""``status``: what runs now, what is in flight, who holds the lock, how the last run ended.

Read-only: it writes no file, takes no lock and changes nothing in Marathon.
"""

from __future__ import annotations

import datetime as dt

from ..console import Console
from ..factory import marathon_client
from ..marathon.fleet import peek_apps
from ..report.status import build_status, render_status, status_json
from ..rollout.ledger import last_entry
from ..rollout.lock import holder
from ..rollout.planning import load_index
from ..settings import Settings


def execute(settings: Settings, console: Console) -> int:
    assert settings.env
    index = load_index(settings.dump, env=settings.env, date=settings.date)
    client = marathon_client(settings)
    peeks = peek_apps(client, index.services, env=settings.env, overrides=settings.app_ids,
                      app_group=settings.app_group, parallel=settings.parallel)
    status = build_status(index, peeks, client.deployments(), now=dt.datetime.now(dt.timezone.utc),
                          lock=holder(settings.lock_dir, settings.env), last_run=last_entry(settings.ledger_file, settings.env))
    if settings.json:
        console.json(status_json(status))
    else:
        console.result(render_status(status))
    return 0
