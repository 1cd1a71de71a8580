"""Pure: Marathon app definitions, the documents ``GET /v2/apps/<id>`` returns, and the update body.

An app definition stays Marathon's own JSON object (:data:`AppDef`); the few facts the tool
reads from it go through the small accessors below. The fields are those of Marathon's
``AppDefinition`` and ``AppInfo`` (Marathon's docs/docs/rest-api/public/api/v2/types/app.raml;
what the tool relies on is written down in docs/how-it-works.md).
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import UsageError

Doc = dict[str, Any]  # one JSON object as Marathon sends it: a task, a deployment, a launch queue entry
AppDef = Doc  # one app as Marathon sends it, read through the accessors here

# Fields only the server fills in (AppInfo) or that mean "roll back" when sent (version).
SERVER_FIELDS = frozenset({
    "version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy", "deployments",
    "tasks", "lastTaskFailure", "readinessCheckResults", "tasksStats",
})


def image_of(app: AppDef) -> str | None:
    """``container.docker.image``, or None for an app that runs no Docker image."""
    image = (docker_of(app) or {}).get("image")
    return image if isinstance(image, str) and image else None


def docker_of(app: AppDef) -> AppDef | None:
    """``container.docker`` when the app has one."""
    container = app.get("container")
    docker = container.get("docker") if isinstance(container, dict) else None
    return docker if isinstance(docker, dict) else None


def deployment_ids(app: AppDef) -> list[str]:
    """The ids of the deployments Marathon embeds in the app (``embed=app.deployments``)."""
    return [str(d.get("id")) for d in app.get("deployments") or [] if isinstance(d, dict)]


def image_update_body(app: AppDef, image: str) -> AppDef:
    """The partial-update body that changes only the image.

    ``container`` is replaced whole by a partial update, so the whole current container is sent
    with only ``docker.image`` changed. ``executorResources``/``resourceLimits`` are reset by a
    partial update that leaves them out (docs/how-it-works.md), so they are sent back as they are.
    """
    container = copy.deepcopy(app.get("container") or {})
    if not isinstance(container.get("docker"), dict):
        raise UsageError(f"app {app.get('id')} has no container.docker: it does not run a Docker image")
    container["docker"]["image"] = image
    body: AppDef = {"container": container}
    for key in ("executorResources", "resourceLimits"):
        if key in app:
            body[key] = copy.deepcopy(app[key])
    return body


def definition(app: AppDef) -> AppDef:
    """What a definition says, without what only the server fills in (version, tasks, counts...)."""
    return {k: v for k, v in app.items() if k not in SERVER_FIELDS}


def same_definition(now: AppDef, stored: AppDef) -> bool:
    return definition(now) == definition(stored)
