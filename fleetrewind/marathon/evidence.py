"""Pure: what an app read from Marathon proves about what served (docs/how-it-works.md, "Three witnesses").

From one ``GET /v2/apps/<id>`` (or one entry of ``GET /v2/apps`` with embeds): the version it holds,
how many of that version's tasks are running and healthy, since when every instance has been
healthy (the tasks' ``healthCheckResults[].firstSuccess``, or ``startedAt`` without checks), and
Marathon's ``lastTaskFailure`` (the newest failure only: docs/marathon-facts.md, "History").
"""

from __future__ import annotations

import datetime as dt
from typing import Mapping

from ..instants import read_instant
from ..model.evidence import Observation, TaskFailure
from .appdef import image_of


def task_failure(app: Mapping[str, object]) -> TaskFailure | None:
    """``lastTaskFailure`` as a value (its version and time), None when absent or unreadable."""
    raw = app.get("lastTaskFailure")
    if not isinstance(raw, dict):
        return None
    version, at, state = read_instant(raw.get("version")), read_instant(raw.get("timestamp")), raw.get("state")
    if version is None or at is None:
        return None
    return TaskFailure(version=version, at=at, state=state if isinstance(state, str) else "unknown")


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def observe(service: str, app: Mapping[str, object], now: dt.datetime) -> Observation | None:
    """What the app shows now; ``first`` is since when every instance has served when that is known.

    Tasks of the current configuration are those whose ``version`` is at or after the app's
    ``versionInfo.lastConfigChangeAt`` (a scale keeps the configuration). Without embedded tasks
    the counts are the app's own (old and new tasks alike), and no "since" is claimed.
    """
    version = app.get("version")
    if not isinstance(version, str):
        return None
    info = app.get("versionInfo")
    since_config = read_instant(info.get("lastConfigChangeAt")) if isinstance(info, dict) else None
    since_config = since_config or read_instant(version)
    instances = _count(app.get("instances", 1))
    tasks = app.get("tasks")
    checked = bool(app.get("healthChecks"))
    failure = task_failure(app)
    if not isinstance(tasks, list):
        healthy = _count(app.get("tasksHealthy") if checked else app.get("tasksRunning"))
        return Observation(service, version, image_of(dict(app)), instances, healthy, _count(app.get("tasksRunning")),
                           _count(app.get("tasksStaged")), now, now, failure)
    healthy, running, staged = 0, 0, 0
    since: dt.datetime | None = None
    for task in tasks:
        if not isinstance(task, dict):
            continue
        launched = read_instant(task.get("version"))
        if launched is None or since_config is None or launched < since_config:
            continue  # an old configuration's task
        state = task.get("state")
        staged += state == "TASK_STAGING"
        if state != "TASK_RUNNING":
            continue
        running += 1
        serving_since = _serving_since(task, checked)
        if serving_since is not None:
            healthy += 1
            since = serving_since if since is None else max(since, serving_since)
    first = since if since is not None and healthy >= instances > 0 and since <= now else now
    return Observation(service, version, image_of(dict(app)), instances, healthy, running, staged, first, now, failure)


def _serving_since(task: Mapping[str, object], checked: bool) -> dt.datetime | None:
    """Since when the task has served: its first success after its last failure; running, without checks."""
    if not checked:
        return read_instant(task.get("startedAt"))
    results = task.get("healthCheckResults")
    if not isinstance(results, list) or not results:
        return None
    since: dt.datetime | None = None
    for result in results:
        if not isinstance(result, dict) or result.get("alive") is not True:
            return None
        success, failure = read_instant(result.get("firstSuccess")), read_instant(result.get("lastFailure"))
        if success is None:
            return None
        start = max(success, failure) if failure is not None else success
        since = start if since is None else max(since, start)
    return since
