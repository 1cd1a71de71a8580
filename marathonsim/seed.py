"""Past versions of an app, seeded from the apps file (docs/simulator.md, "History").

Each entry is a change on top of the version before it, oldest first, as a client's
partial PUT would make it: top-level keys replace the previous ones whole (`image` is a
shortcut for `container.docker.image`). A `refused` entry is stored but never became
current, as when Marathon stores a version before the lock check refuses it with 409
(`core/group/impl/GroupManagerImpl.scala`, `updateRootEither`); the next entry builds on
the last version that did become current. `versionInfo` follows
`src/main/scala/mesosphere/marathon/state/VersionInfo.scala`: a scale-only change moves
`lastScalingAt`, a restart moves `lastConfigChangeAt`, any other change moves both.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .appdef import App, SERVER_FIELDS, change_kind, merge
from .appread import DEFINITION_FIELDS, read_app
from .clock import canonical_stamp, iso_ms, parse_ms
from .replies import ApiError

ENTRY_KEYS = frozenset({"version", "image", "refused", "restart", "task_failure"})
FAILURE_STATES = frozenset({"TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED",
                            "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"})
HEALTH_KILL = "Task was killed since health check failed. Reason: Connection refused"
Validate = Callable[[App], App]


def version_info(before: App | None, after: App, version: str, restart: bool = False
                 ) -> dict[str, str]:
    """versionInfo of `after` stored under `version`, given the current definition before."""
    if before is None:
        return {"lastScalingAt": version, "lastConfigChangeAt": version}
    info = dict(before["versionInfo"])
    kind = "restart-only" if restart else change_kind(before, after)
    if kind in ("scale", "restart"):
        info["lastScalingAt"] = version
    if kind != "scale":  # a restart, or an entry that changes nothing, is a restart
        info["lastConfigChangeAt"] = version
    return info


def past_versions(app_id: str, base: App, entries: Sequence[Any], valid: Validate
                  ) -> tuple[list[App], App | None]:
    """(every stored past version, the newest one that became current) for one app.

    `base` is the current definition, normalized; the oldest entry changes a copy of it.
    """
    parsed = sorted((_entry(app_id, i, e) for i, e in enumerate(entries)),
                    key=lambda item: parse_ms(item.version))
    stored: list[App] = []
    current: App | None = None
    template = {k: v for k, v in base.items() if k not in SERVER_FIELDS}
    for entry in parsed:
        merged = merge(current if current is not None else template, entry.fields)
        if entry.image is not None:
            container = copy.deepcopy(merged.get("container") or {"type": "DOCKER"})
            container.setdefault("docker", {})["image"] = entry.image
            merged["container"] = container
        try:
            definition = valid({**merged, "id": app_id})
        except ApiError as exc:
            raise ValueError(f"history of {app_id}, version {entry.version}: {exc.body}") from None
        info = version_info(current, definition, entry.version, entry.restart)
        app = {**definition, "version": entry.version, "versionInfo": info}
        stored.append(app)
        if not entry.refused:
            current = app
    return stored, current


def seeded_failure(app_id: str, entries: Sequence[Any], host: str = "10.0.0.1") -> dict[str, Any] | None:
    """lastTaskFailure from the entries' `task_failure`: the newest one (Marathon keeps one)."""
    newest: tuple[int, str, str, str] | None = None
    for i, raw in enumerate(entries):
        entry = _entry(app_id, i, raw)
        if entry.failure is not None:
            at, state, message = entry.failure
            if newest is None or parse_ms(at) > newest[0]:
                newest = (parse_ms(at), entry.version, state, message)
    if newest is None:
        return None
    at_ms, version, state, message = newest
    return {"appId": app_id, "host": host, "message": message, "state": state,
            "taskId": f"{app_id.strip('/').replace('/', '_')}.instance-seeded._app.1",
            "slaveId": "agent-0", "timestamp": iso_ms(at_ms), "version": version}


@dataclass
class Entry:
    version: str
    fields: App
    image: str | None
    refused: bool
    restart: bool
    failure: tuple[str, str, str] | None = None  # (at, state, message) of a task of this version


def _entry(app_id: str, index: int, raw: Any) -> Entry:
    where = f"history of {app_id}, entry {index}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected an object (found: {raw!r})")
    stamp = raw.get("version")
    try:
        version = canonical_stamp(str(stamp))
    except ValueError:
        raise ValueError(f"{where}: 'version' must be an ISO-8601 timestamp with an offset "
                         f"(found: {stamp!r})") from None
    fields = {k: copy.deepcopy(v) for k, v in raw.items() if k not in ENTRY_KEYS}
    unknown = sorted(set(fields) - DEFINITION_FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}")
    try:
        fields = read_app(fields)
    except ApiError as exc:
        raise ValueError(f"{where}: {exc.body}") from None
    image = raw.get("image")
    if image is not None and (not isinstance(image, str) or not image):
        raise ValueError(f"{where}: 'image' must be a non-empty string (found: {image!r})")
    for flag in ("refused", "restart"):
        if not isinstance(raw.get(flag, False), bool):
            raise ValueError(f"{where}: {flag!r} must be true or false")
    return Entry(version, fields, image, bool(raw.get("refused")), bool(raw.get("restart")),
                 _failure(where, version, raw.get("task_failure")))


def _failure(where: str, version: str, raw: Any) -> tuple[str, str, str] | None:
    """`task_failure`: an ISO-8601 time (a kill for failed health checks then), or
    {"at", "state", "message"}; never before the version itself."""
    if raw is None:
        return None
    spec = {"at": raw} if isinstance(raw, str) else raw
    if not isinstance(spec, Mapping) or set(spec) - {"at", "state", "message"}:
        raise ValueError(f"{where}: 'task_failure' must be a time or {{\"at\", \"state\", \"message\"}}")
    try:
        at = canonical_stamp(str(spec.get("at")))
    except ValueError:
        raise ValueError(f"{where}: task_failure.at must be an ISO-8601 timestamp with an offset") from None
    if parse_ms(at) < parse_ms(version):
        raise ValueError(f"{where}: task_failure.at is before the version itself")
    state = spec.get("state", "TASK_KILLED")
    if state not in FAILURE_STATES:
        raise ValueError(f"{where}: task_failure.state must be one of {sorted(FAILURE_STATES)}")
    message = spec.get("message", HEALTH_KILL if state == "TASK_KILLED" else "Container exited with status 1")
    if not isinstance(message, str):
        raise ValueError(f"{where}: task_failure.message must be a string")
    return at, str(state), message
