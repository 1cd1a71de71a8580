"""Pure: is an app's deployment done and healthy on the new image? (reference sections 9, 14)

Gone from /v2/deployments is not proof of success, and health counts include old tasks, so
the judgement is per new-version task: running, healthy where checks exist, as many as
``instances``, with the definition still on the image we asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..marathon.client import image_of


@dataclass(frozen=True)
class Judgement:
    done: bool
    unhealthy: bool
    superseded: bool
    detail: str


def _alive(task: dict[str, Any]) -> bool | None:
    results = task.get("healthCheckResults") or []
    if not results:
        return None
    return all(bool(r.get("alive")) for r in results if isinstance(r, dict))


def judge(app: dict[str, Any], target_image: str, running_deployments: set[str]) -> Judgement:
    if image_of(app) != target_image:
        return Judgement(False, False, True, f"its image was changed to {image_of(app)} by someone else")
    instances = int(app.get("instances", 1) or 0)
    config_at = str((app.get("versionInfo") or {}).get("lastConfigChangeAt") or app.get("version") or "")
    has_checks = bool(app.get("healthChecks"))
    new_tasks = [t for t in app.get("tasks") or [] if isinstance(t, dict) and str(t.get("version", "")) >= config_at]
    running = [t for t in new_tasks if t.get("state", "TASK_RUNNING") == "TASK_RUNNING"]
    healthy = [t for t in running if _alive(t)] if has_checks else running
    unhealthy = [t for t in new_tasks if _alive(t) is False]
    app_deployments = {str(d.get("id")) for d in app.get("deployments") or [] if isinstance(d, dict)}
    in_flight = bool(app_deployments & running_deployments) or bool(app_deployments)
    detail = (f"{len(healthy)}/{instances} new tasks {'healthy' if has_checks else 'running'}"
              + (f", {len(unhealthy)} unhealthy" if unhealthy else "")
              + (", deployment in progress" if in_flight else ""))
    done = not in_flight and len(healthy) >= instances
    return Judgement(done=done, unhealthy=bool(unhealthy), superseded=False, detail=detail)
