"""Reading a request body as an App: field filtering and JSON type checks.

Marathon reads bodies with RAML-generated readers: undeclared fields (status fields such as
tasksRunning) are silently ignored, and wrong types or RAML bounds come back as
422 "Invalid JSON" with Play-style error keys (Marathon's types/app.raml, MarathonExceptionMapper.scala).
"""
from __future__ import annotations

from typing import Any, Callable

from .replies import invalid_json

# Declared App fields (types/app.raml), including the deprecated inputs that are still accepted.
DEFINITION_FIELDS = frozenset(
    """id cmd args user env instances cpus mem disk gpus executor executorResources
    resourceLimits constraints fetch container healthChecks check readinessChecks dependencies
    upgradeStrategy labels acceptedResourceRoles networks portDefinitions requirePorts
    backoffSeconds backoffFactor maxLaunchDelaySeconds taskKillGracePeriodSeconds secrets
    unreachableStrategy killSelection tty role residency ports uris ipAddress""".split()
)
# `version` means "roll back"; `versionInfo` is declared but its input is ignored.
DECLARED_FIELDS = DEFINITION_FIELDS | {"version", "versionInfo"}

Check = Callable[[Any], "str | None"]


def _string(min_length: int = 0) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return "error.expected.jsstring"
        return "error.minLength" if len(v) < min_length else None

    return check


def _number(integer: bool = False, minimum: float | None = None,
            maximum: float | None = None) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return "error.expected.jsnumber"
        if integer and not float(v).is_integer():
            return "error.expected.int"
        if minimum is not None and v < minimum:
            return "error.min"
        if maximum is not None and v > maximum:
            return "error.max"
        return None

    return check


def _of(kind: type, key: str) -> Check:
    def check(v: Any) -> str | None:
        return None if isinstance(v, kind) else key

    return check


def _enum(*values: str) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return "error.expected.jsstring"
        return None if v in values else "error.expected.validenumvalue"

    return check


_OBJ, _ARR, _BOOL = (_of(dict, "error.expected.jsobject"), _of(list, "error.expected.jsarray"),
                     _of(bool, "error.expected.jsboolean"))
_FRACTION = _number(minimum=0.0, maximum=1.0)

# Top-level field checks (types and RAML bounds from types/app.raml).
FIELD_CHECKS: dict[str, Check] = {
    "id": _string(), "cmd": _string(1), "args": _ARR, "user": _string(), "env": _OBJ,
    "instances": _number(True, 0), "cpus": _number(minimum=0.001), "mem": _number(minimum=0),
    "disk": _number(minimum=0), "gpus": _number(True, 0), "executor": _string(),
    "executorResources": _OBJ, "resourceLimits": _OBJ, "constraints": _ARR, "fetch": _ARR,
    "container": _OBJ, "healthChecks": _ARR, "check": _OBJ, "readinessChecks": _ARR,
    "dependencies": _ARR, "upgradeStrategy": _OBJ, "labels": _OBJ,
    "acceptedResourceRoles": _ARR, "networks": _ARR, "portDefinitions": _ARR,
    "requirePorts": _BOOL, "backoffSeconds": _number(True, 0),
    "backoffFactor": _number(minimum=1.0), "maxLaunchDelaySeconds": _number(True, 0),
    "taskKillGracePeriodSeconds": _number(True, 0), "secrets": _OBJ,
    "unreachableStrategy": _OBJ, "killSelection": _enum("YOUNGEST_FIRST", "OLDEST_FIRST"),
    "tty": _BOOL, "role": _string(1), "residency": _OBJ, "ports": _ARR, "uris": _ARR,
    "ipAddress": _OBJ, "version": _string(), "versionInfo": _OBJ,
}
HEALTH_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP", "COMMAND")
NESTED_CHECKS: dict[tuple[str, ...], Check] = {
    ("upgradeStrategy", "minimumHealthCapacity"): _FRACTION,
    ("upgradeStrategy", "maximumOverCapacity"): _FRACTION,
    ("container", "type"): _enum("DOCKER", "MESOS"),
    ("container", "docker"): _OBJ,
    ("container", "docker", "image"): _string(),
    ("container", "portMappings"): _ARR,
    ("container", "volumes"): _ARR,
}


def read_app(body: Any) -> dict[str, Any]:
    """Keep declared fields (dropping nulls) and type-check them; raise 422 Invalid JSON."""
    if not isinstance(body, dict):
        raise invalid_json([{"path": "/", "errors": ["error.expected.jsobject"]}])
    app = {k: v for k, v in body.items() if k in DECLARED_FIELDS and v is not None}
    details: list[dict[str, Any]] = []
    for key, value in app.items():
        error = FIELD_CHECKS[key](value)
        if error:
            details.append({"path": f"/{key}", "errors": [error]})
    if not details:
        details = _nested_errors(app)
    if details:
        raise invalid_json(details)
    return app


def _nested_errors(app: dict[str, Any]) -> list[dict[str, Any]]:
    details = []
    for path, check in NESTED_CHECKS.items():
        node: Any = app
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            error = check(node)
            if error:
                details.append({"path": "/" + "/".join(path), "errors": [error]})
    for i, hc in enumerate(app.get("healthChecks", [])):
        protocol = hc.get("protocol", "HTTP") if isinstance(hc, dict) else None
        if protocol not in HEALTH_PROTOCOLS:
            # Play writes array indexes as (i) in error paths.
            details.append({"path": f"/healthChecks({i})/protocol",
                            "errors": ["error.expected.validenumvalue"]})
    return details
