"""Pure: check what Marathon answered before anything acts on it.

A server (or a proxy in front of it) can answer with the wrong shape or for another app. An
answer is used only when it has the shape of Marathon's ``AppInfo``
(src/main/scala/mesosphere/marathon/raml/AppInfo from docs/docs/rest-api/public/api/v2/types/app.raml)
in the fields the tool reads; otherwise the call fails with one clear error, as a failure of
that service.
"""

from __future__ import annotations

from ..errors import MarathonBadAnswer
from ..secret import shorten
from .appdef import AppDef

# field -> (accepted types, what it is); absent fields are fine (Marathon omits empty ones)
_APP_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "id": ((str,), "a string"),
    "instances": ((int,), "a whole number"),
    "container": ((dict,), "an object"),
    "tasks": ((list,), "a list"),
    "deployments": ((list,), "a list"),
    "healthChecks": ((list,), "a list"),
    "env": ((dict,), "an object"),
    "secrets": ((dict,), "an object"),
    "versionInfo": ((dict,), "an object"),
    "tasksRunning": ((int,), "a whole number"),
    "tasksHealthy": ((int,), "a whole number"),
    "tasksUnhealthy": ((int,), "a whole number"),
}


def check_app(app: object, app_id: str) -> AppDef:
    """The ``app`` of ``GET /v2/apps/{app_id}``: the right id, the right field types."""
    if not isinstance(app, dict):
        raise MarathonBadAnswer(f"Marathon's answer for {app_id} has no 'app' object")
    if app.get("id") != app_id:
        raise MarathonBadAnswer(f"Marathon's answer for {app_id} describes another app ({shorten(app.get('id'), 80)}); "
                                "refusing to act on it")
    for name, (types, what) in _APP_FIELDS.items():
        value = app.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            raise MarathonBadAnswer(f"Marathon's answer for {app_id} is unusable: {name!r} is not {what} "
                                    f"(found: {shorten(value, 60)})")
    if isinstance(app.get("instances"), int) and app["instances"] < 0:
        raise MarathonBadAnswer(f"Marathon's answer for {app_id} is unusable: 'instances' is negative")
    for key in ("tasks", "deployments"):
        if not all(isinstance(item, dict) for item in app.get(key) or []):
            raise MarathonBadAnswer(f"Marathon's answer for {app_id} is unusable: {key!r} holds a non-object")
    docker = (app.get("container") or {}).get("docker")
    if docker is not None and (not isinstance(docker, dict) or not isinstance(docker.get("image", ""), str)):
        raise MarathonBadAnswer(f"Marathon's answer for {app_id} is unusable: 'container.docker.image' is not a string")
    return app


def app_ids_of(body: object) -> list[str]:
    """The ids of ``GET /v2/apps``: an object whose ``apps`` is a list of objects with an ``id``."""
    apps = body.get("apps") if isinstance(body, dict) else None
    if not isinstance(apps, list):
        raise MarathonBadAnswer(f"Marathon's answer to GET /v2/apps is not an object with an 'apps' list "
                                f"(found: {shorten(body, 60)}); check that --marathon points at Marathon")
    return [app["id"] for app in apps if isinstance(app, dict) and isinstance(app.get("id"), str)]


def error_message(body: object, status: int) -> str:
    """Marathon's ``{"message": ..., "details": [{"path": ..., "errors": [...]}]}``, whatever its shape."""
    if not isinstance(body, dict):
        return shorten(body, 200)
    message = str(body.get("message", ""))[:300]
    details = body.get("details")
    if isinstance(details, list):
        parts = []
        for detail in details[:20]:
            if isinstance(detail, dict):
                errors = detail.get("errors")
                texts = [str(e)[:200] for e in errors[:10]] if isinstance(errors, list) else [shorten(errors, 100)]
                parts.append(f"{str(detail.get('path', '/'))[:100]}: {'; '.join(texts)}")
            else:
                parts.append(shorten(detail, 100))
        if parts:
            message += " (" + ", ".join(parts) + ")"
    elif details is not None and details != "":
        message += f" ({str(details)[:150]})"
    return message or f"HTTP {status}"


def app_problem(app: AppDef) -> str | None:
    """Why an app at rest is not in a good state, or None: no deployment in flight, as many tasks
    running as ``instances``, all healthy where it has health checks (AppInfo's task counts)."""
    deployments = [str(d.get("id")) for d in app.get("deployments") or [] if isinstance(d, dict)]
    if deployments:
        return f"deployment {', '.join(deployments)} is still in flight"
    instances = _count(app, "instances", 1)
    unhealthy = _count(app, "tasksUnhealthy", 0)
    if unhealthy:
        return f"{unhealthy} of its tasks are unhealthy"
    running = _count(app, "tasksRunning", instances)
    if running < instances:
        return f"{running}/{instances} tasks running"
    if app.get("healthChecks") and _count(app, "tasksHealthy", instances) < instances:
        return f"{_count(app, 'tasksHealthy', instances)}/{instances} tasks healthy"
    return None


def _count(app: AppDef, name: str, default: int) -> int:
    value = app.get(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default
