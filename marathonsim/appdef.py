"""App definitions: normal form with defaults, the one-level merge, validation, change kinds.

The stored form is what Marathon writes back: deprecated inputs moved to their new places
(never written back), defaults filled, service ports assigned, empty optional arrays dropped
(Marathon's types/app.raml).
"""
from __future__ import annotations

import copy
import fnmatch
from typing import Any, Callable, Iterable

from .replies import not_valid
from .ids import id_errors

App = dict[str, Any]
PortAllocator = Callable[[], int]

SERVER_FIELDS = ("version", "versionInfo")
# RAML `omitEmpty` fields: an empty value is not written.
OMIT_EMPTY = ("args", "constraints", "dependencies", "env", "fetch", "healthChecks",
              "readinessChecks", "secrets")
DEFAULTS: App = {
    "instances": 1, "cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0, "executor": "",
    "backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300,
    "labels": {}, "requirePorts": False, "killSelection": "YOUNGEST_FIRST", "role": "*",
    "upgradeStrategy": {}, "unreachableStrategy": {},
}
UPGRADE_DEFAULTS = {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0}
UNREACHABLE_DEFAULTS = {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0}
HEALTH_DEFAULTS = {"gracePeriodSeconds": 300, "intervalSeconds": 60, "timeoutSeconds": 20,
                   "maxConsecutiveFailures": 3, "delaySeconds": 15}
_DOCKER_NETWORKS = {"BRIDGE": {"mode": "container/bridge"}, "HOST": {"mode": "host"},
                    "USER": {"mode": "container"}}
_ARCHIVES = (".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip")
ONLY_CMD_ARGS_OR_CONTAINER = (
    "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
)


def normalize(app: App, allocate_port: PortAllocator) -> App:
    """Full definition in output form; `version`/`versionInfo` are removed (server-owned)."""
    app = copy.deepcopy(app)
    for key in SERVER_FIELDS:
        app.pop(key, None)
    _move_deprecated(app)
    for key, value in DEFAULTS.items():
        app.setdefault(key, copy.deepcopy(value))
    app["upgradeStrategy"] = {**UPGRADE_DEFAULTS, **app["upgradeStrategy"]}
    app["unreachableStrategy"] = {**UNREACHABLE_DEFAULTS, **app["unreachableStrategy"]}
    app.setdefault("networks", [{"mode": "host"}])
    if isinstance(app.get("container"), dict):
        _normalize_container(app["container"])
    app["healthChecks"] = [_health_check(hc) for hc in app.get("healthChecks", [])]
    _assign_ports(app, allocate_port)
    for key in OMIT_EMPTY:
        if key in app and not app[key]:
            del app[key]
    return {"id": app.pop("id", ""), **app}


def merge(current: App, update: App) -> App:
    """partialUpdate=true: top-level keys of the body replace the current ones whole."""
    # executorResources/resourceLimits come from the body only (AppConversion quirk, AppsResource.replace).
    skip = SERVER_FIELDS + ("executorResources", "resourceLimits")
    merged = {k: v for k, v in current.items() if k not in skip}
    merged.update({k: v for k, v in update.items() if k not in SERVER_FIELDS})
    return merged


def validate(app: App, invalid_images: Iterable[str]) -> None:
    """Semantic checks on a normalized definition; 422 'Object is not valid' (MarathonExceptionMapper.scala)."""
    details: list[dict[str, Any]] = []
    errors = id_errors(app.get("id", ""))
    if errors:
        details.append({"path": "/id", "errors": errors})
    has_cmd, has_args = "cmd" in app, bool(app.get("args"))
    if (has_cmd and has_args) or not (has_cmd or has_args or app.get("container")):
        details.append({"path": "/", "errors": [ONLY_CMD_ARGS_OR_CONTAINER]})
    container = app.get("container") or {}
    docker = container.get("docker")
    if container and container.get("type") == "DOCKER" and not docker:
        details.append({"path": "/container/docker", "errors": ["not defined"]})
    if isinstance(docker, dict):
        image = docker.get("image", "")
        if not image:
            details.append({"path": "/container/docker/image", "errors": ["must not be empty"]})
        elif image_matches(image, invalid_images):
            details.append({"path": "/container/docker/image", "errors": [
                f"image '{image}' is rejected by the simulator (matches invalid_images)"]})
    if details:
        raise not_valid(details)


def change_kind(old: App, new: App) -> str:
    """'restart' for a config change, 'scale' for an instances-only change, else 'none'."""
    ignore = SERVER_FIELDS + ("instances",)
    if {k: v for k, v in old.items() if k not in ignore} != {
            k: v for k, v in new.items() if k not in ignore}:
        return "restart"
    return "scale" if old.get("instances") != new.get("instances") else "none"


def image_of(app: App) -> str:
    docker = (app.get("container") or {}).get("docker") or {}
    return str(docker.get("image", ""))


def image_matches(image: str, patterns: Iterable[str]) -> bool:
    """fnmatch globs on the full image string (unhealthy/failing/invalid images)."""
    return bool(image) and any(fnmatch.fnmatchcase(image, p) for p in patterns)


def service_ports(app: App) -> list[int]:
    """The app's service ports: portDefinitions, else container portMappings."""
    mappings = (app.get("container") or {}).get("portMappings") or []
    return [int(p.get("port", 0)) for p in app.get("portDefinitions", [])] or [
        int(m.get("servicePort", 0)) for m in mappings]


def has_health_checks(app: App) -> bool:
    return bool(app.get("healthChecks"))


def _move_deprecated(app: App) -> None:
    """Deprecated inputs are accepted and normalized, never written back (types/app.raml)."""
    if "ports" in app:
        app["portDefinitions"] = [{"port": p, "protocol": "tcp"} for p in app.pop("ports")]
    if "uris" in app:
        app["fetch"] = [{"uri": u, "extract": str(u).endswith(_ARCHIVES), "executable": False,
                         "cache": False} for u in app.pop("uris")]
    ip_address = app.pop("ipAddress", None)
    if isinstance(ip_address, dict):
        network = {"mode": "container"}
        if ip_address.get("networkName"):
            network["name"] = ip_address["networkName"]
        app["networks"] = [network]
    docker = (app.get("container") or {}).get("docker")
    if isinstance(docker, dict):
        mappings = docker.pop("portMappings", None)
        if mappings is not None:
            app["container"].setdefault("portMappings", mappings)
        network_name = docker.pop("network", None)
        if network_name in _DOCKER_NETWORKS:
            app["networks"] = [dict(_DOCKER_NETWORKS[network_name])]


def _normalize_container(container: App) -> None:
    container.setdefault("type", "DOCKER")
    docker = container.get("docker")
    if isinstance(docker, dict):
        docker.setdefault("forcePullImage", False)
        if container["type"] == "DOCKER":
            docker.setdefault("privileged", False)
            docker.setdefault("parameters", [])
    container.setdefault("volumes", [])


def _health_check(check: Any) -> Any:
    if not isinstance(check, dict):
        return check
    check = {**HEALTH_DEFAULTS, "protocol": "HTTP", **check}
    protocol = check["protocol"]
    if protocol in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
        check.setdefault("path", "/")
    if protocol != "COMMAND" and "port" not in check:
        check.setdefault("portIndex", 0)
    if protocol.startswith("MESOS_"):
        check.setdefault("ipProtocol", "IPv4")
    return check


def _assign_ports(app: App, allocate_port: PortAllocator) -> None:
    """Service ports sent as 0 (or absent) get a value from the server (types/app.raml)."""
    host_mode = all(n.get("mode") == "host" for n in app["networks"] if isinstance(n, dict))
    mappings = (app.get("container") or {}).get("portMappings")
    if host_mode and not mappings:
        definitions = app.setdefault(
            "portDefinitions", [{"port": 0, "protocol": "tcp", "name": "default"}])
        for definition in definitions:
            if isinstance(definition, dict) and not definition.get("port"):
                definition["port"] = allocate_port()
        return
    if not host_mode:
        app.pop("portDefinitions", None)
    for mapping in mappings or []:
        if isinstance(mapping, dict):
            mapping.setdefault("containerPort", 0)
            mapping.setdefault("hostPort", 0)
            mapping.setdefault("protocol", "tcp")
            if not mapping.get("servicePort"):
                mapping["servicePort"] = allocate_port()
