"""``diff``: the releases built after --from up to the end of --to, per service, and what runs now."""

from __future__ import annotations

import datetime as dt

from .. import factory
from ..console import Console
from ..errors import UnreachableError, UsageError
from ..platform.timeline import deployed_between, show
from ..releases.diff import diff, diff_json, render_diff, span
from ..planning.make import load_index, readable
from ..settings.commands import DiffSettings


def execute(settings: DiffSettings, console: Console) -> int:
    index = load_index(settings.common.dump, env=settings.env, date=None)
    through = settings.diff_to or dt.datetime.now(index.tz).date().isoformat()
    if settings.diff_from > through:
        raise UsageError(f"--from {settings.diff_from} is after today ({through}); --from is the older date")
    current: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    deployed: dict[str, list[tuple[dt.datetime, str | None]]] = {}
    notes: dict[str, str] = {}
    marathon: str | None = None
    if not settings.marathon.url:
        marathon = "no Marathon URL (--marathon or MARATHON_URL)"
    else:
        try:
            with factory.Clients(settings) as clients:
                platform = clients.platform()
                peeks = platform.peek(index.services)
                # what was deployed in the span: Marathon's stored versions (best effort, per app)
                app_ids, apps = readable(peeks)
                failed = clients.inputs().failed(settings.env)
            history = platform.history(app_ids, apps, failed=failed)
        except UnreachableError as err:
            console.warn(f"{err}; listing the releases without what runs now")
            marathon = "Marathon could not be read"
        else:
            current = {s: p.image for s, p in peeks.items()}
            problems = {s: p.problem for s, p in peeks.items() if p.problem}
            start, end = span(index, settings.diff_from, through)
            start = settings.at or start  # --at: from that moment, not from the end of a day
            for service, timeline in history.timelines.items():
                deployed[service], note = deployed_between(timeline, start, end)
                if note:
                    notes[service] = note
    after = show(settings.at, index.tz) if settings.at else settings.diff_from
    result = diff(index, after=after, through=through, current=current, problems=problems,
                  marathon=marathon, deployed=deployed, history=notes, since=settings.at)
    if settings.common.json:
        console.json(diff_json(result))
    else:
        console.result(render_diff(result))
    return 0
