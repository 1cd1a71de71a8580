"""Read-side rendering: AppInfo with its embeds, task stats, and the GET /v2/apps filters."""
from __future__ import annotations

import copy
import statistics
from typing import Any, Callable, Iterable

from .labels import parse_selector
from .records import AppRecord
from .tasks import Task, counts

# Whatever embed says (`api/v2/AppsResource.scala` index; `api/v2/InfoEmbedResolver.scala`).
ALWAYS_EMBEDDED = frozenset({"counts", "deployments"})


def embeds(values: Iterable[str], base: Iterable[str] = ()) -> set[str]:
    """Embed names without their optional `apps.`/`app.` prefix; unknown ones are harmless."""
    names = set(base) | ALWAYS_EMBEDDED
    for value in values:
        name = value.split(".", 1)[1] if value.startswith(("apps.", "app.")) else value
        names.add("lastTaskFailure" if name == "failures" else name)
    return names


def listed_tasks(rec: AppRecord, t: float) -> list[dict[str, Any]]:
    """The app's Mesos tasks: not the instances waiting in the launch queue."""
    return [task.to_json(t) for task in rec.shown() if task.listed(t)]


def app_info(rec: AppRecord, deployment_ids: list[str], t: float,
             embed: set[str], readiness: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """AppInfo (`docs/.../v2/types/app.raml`, `core/appinfo/impl/AppInfoBaseData.scala`):
    the definition plus status fields."""
    info = copy.deepcopy(rec.app)
    info.update(counts(rec.shown(), t))
    info["deployments"] = [{"id": d} for d in deployment_ids]
    if "tasks" in embed:
        info["tasks"] = listed_tasks(rec, t)
    failure = rec.last_failure(t) if "lastTaskFailure" in embed else None
    if failure:
        info["lastTaskFailure"] = failure
    if "readiness" in embed:
        info["readinessCheckResults"] = readiness or []
    if "taskStats" in embed:
        info["tasksStats"] = task_stats(rec, t)
    return info


def task_stats(rec: AppRecord, t: float) -> dict[str, Any]:
    """tasksStats: counts split by config (`core/appinfo/TaskStatsByVersion.scala`);
    sections without tasks are left out."""
    info = rec.app["versionInfo"]
    tasks = [x for x in rec.shown() if x.listed(t)]
    groups = {
        "startedAfterLastScaling": [x for x in tasks if x.version >= info["lastScalingAt"]],
        "withLatestConfig": [x for x in tasks if x.version >= info["lastConfigChangeAt"]],
        "withOutdatedConfig": [x for x in tasks if x.version < info["lastConfigChangeAt"]],
        "totalSummary": tasks,
    }
    return {name: {"stats": _stats(tasks, t)} for name, tasks in groups.items() if tasks}


def _stats(tasks: list[Task], t: float) -> dict[str, Any]:
    c = counts(tasks, t)
    stats: dict[str, Any] = {"counts": {"staged": c["tasksStaged"], "running": c["tasksRunning"],
                                        "healthy": c["tasksHealthy"],
                                        "unhealthy": c["tasksUnhealthy"]}}
    lifetimes = [t - task.staged_at for task in tasks if task.state(t) == "TASK_RUNNING"]
    if lifetimes:
        stats["lifeTime"] = {"averageSeconds": statistics.fmean(lifetimes),
                             "medianSeconds": statistics.median(lifetimes)}
    return stats


def app_filter(query: dict[str, list[str]]) -> Callable[[dict[str, Any]], bool]:
    """GET /v2/apps filters: `id` and `cmd` are case-insensitive substrings, `label` a
    selector (`api/v2/AppsResource.scala` search); each selector is parsed once."""
    ids = [needle.lower() for needle in query.get("id", [])]
    cmds = [needle.lower() for needle in query.get("cmd", [])]
    selectors = [parse_selector(s) for s in query.get("label", [])]

    def keep(app: dict[str, Any]) -> bool:
        cmd = app.get("cmd")
        return (all(n in app["id"].lower() for n in ids)
                and all(cmd is not None and n in cmd.lower() for n in cmds)
                and all(selector(app.get("labels", {})) for selector in selectors))

    return keep
