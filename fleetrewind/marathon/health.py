"""Pure: is an app's deployment done and healthy on the new image? (docs/how-it-works.md, "Waiting")

Gone from /v2/deployments is not proof of success, and health counts include old tasks, so
the judgement is per new-version task: running, healthy where checks exist, as many as
``instances``, with the definition still on the image we asked for. Health is judged with
Marathon's timing: a failing check inside its grace period (before the task's first success)
is ignored by Marathon, so the task is "not healthy yet", not unhealthy. With readiness checks
a deployment is done only once Marathon's deployment is over: Marathon ends it when the new
tasks are healthy and ready.
"""

from __future__ import annotations

from ..platform.protocol import Judgement
from .appdef import AppDef, Doc, deployment_ids, image_of

# Marathon's default gracePeriodSeconds for a health check that sets none (docs/how-it-works.md).
DEFAULT_GRACE = 300.0
HEALTHY, UNHEALTHY, NOT_YET = "healthy", "unhealthy", "not healthy yet"


def grace_seconds(app: AppDef) -> float:
    """The longest health grace period of the app's checks (0 without checks)."""
    graces = [float(c.get("gracePeriodSeconds", DEFAULT_GRACE)) for c in app.get("healthChecks") or []
              if isinstance(c, dict)]
    return max(graces, default=0.0)


def config_at(app: AppDef) -> str:
    return str((app.get("versionInfo") or {}).get("lastConfigChangeAt") or app.get("version") or "")


def new_tasks(app: AppDef) -> list[Doc]:
    """Tasks launched for the current configuration (a task's version is its app version)."""
    since = config_at(app)
    return [t for t in app.get("tasks") or [] if isinstance(t, dict) and str(t.get("version", "")) >= since]


def task_health(task: Doc) -> str:
    """healthy, unhealthy, or not healthy yet (no result, or none Marathon has counted yet).

    Marathon ignores a failing check until the task's first success or the end of its grace
    period, keeping the result it had (``alive: false`` with no failure recorded); only a
    recorded failure (``lastFailure``, ``consecutiveFailures``) makes a task unhealthy.
    """
    results = [r for r in task.get("healthCheckResults") or [] if isinstance(r, dict)]
    if results and all(bool(r.get("alive")) for r in results):
        return HEALTHY
    counted = [r for r in results if not r.get("alive") and (r.get("lastFailure") or r.get("consecutiveFailures"))]
    return UNHEALTHY if counted else NOT_YET


def judge(app: AppDef, target_image: str, running_deployments: set[str]) -> Judgement:
    if image_of(app) != target_image:
        return Judgement(False, False, True, f"its image was changed to {image_of(app)} by someone else")
    instances = int(app.get("instances", 1) or 0)
    has_checks = bool(app.get("healthChecks"))
    fresh = new_tasks(app)
    running = [t for t in fresh if t.get("state", "TASK_RUNNING") == "TASK_RUNNING"]
    health = [task_health(t) for t in running] if has_checks else [HEALTHY] * len(running)
    healthy, not_yet = health.count(HEALTHY), health.count(NOT_YET)
    unhealthy = health.count(UNHEALTHY)
    app_deployments = set(deployment_ids(app))
    in_flight = bool(app_deployments & running_deployments) or bool(app_deployments)
    detail = (f"{healthy}/{instances} new tasks {'healthy' if has_checks else 'running'}"
              + (f", {not_yet} not healthy yet" if not_yet else "")
              + (f", {unhealthy} unhealthy" if unhealthy else "")
              + (", deployment in progress" if in_flight else ""))
    done = not in_flight and healthy >= instances
    return Judgement(done=done, unhealthy=bool(unhealthy), superseded=False, detail=detail, not_yet=not_yet)
