"""``diff``: the releases built after --from up to the end of --to, per service, and what runs now."""

from __future__ import annotations

import datetime as dt

from ..console import Console
from ..errors import UnreachableError, UsageError
from ..factory import marathon_client
from ..marathon.fleet import peek_apps
from ..releases.diff import diff, diff_json, render_diff
from ..rollout.planning import load_index
from ..settings import Settings


def execute(settings: Settings, console: Console) -> int:
    assert settings.env and settings.diff_from
    index = load_index(settings.dump, env=settings.env, date=settings.date)
    through = settings.diff_to or dt.datetime.now(index.tz).date().isoformat()
    if settings.diff_from > through:
        raise UsageError(f"--from {settings.diff_from} is after today ({through}); --from is the older date")
    current: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    marathon: str | None = None
    if not settings.marathon_url:
        marathon = "no Marathon URL (--marathon or MARATHON_URL)"
    else:
        try:
            peeks = peek_apps(marathon_client(settings), index.services, env=settings.env, overrides=settings.app_ids,
                              app_group=settings.app_group, parallel=settings.parallel)
        except UnreachableError as err:
            console.warn(f"{err}; listing the releases without what runs now")
            marathon = "Marathon could not be read"
        else:
            current = {s: p.image for s, p in peeks.items()}
            problems = {s: p.problem for s, p in peeks.items() if p.problem}
    result = diff(index, after=settings.diff_from, through=through, current=current, problems=problems,
                  marathon=marathon)
    if settings.json:
        console.json(diff_json(result))
    else:
        console.result(render_diff(result))
    return 0
