"""Snapshots: the images every target app ran before the first change, to undo from."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..atomic import json_text
from ..errors import UsageError
from ..model.imageref import check_image
from ..model.names import check_env, check_service
from ..inputs import loads
from ..state.store import StateStore
from ..platform.timeline import parse_instant
from ..secret import REGISTRY, shorten

SNAPSHOT_FORMAT = 1


@dataclass(frozen=True)
class Snapshot:
    env: str
    taken_at: str
    command: str
    images: dict[str, str]      # service -> image
    app_ids: dict[str, str]     # service -> app id
    path: str | None = None  # the reference it was read from (a file, or the store's name for it)
    versions: dict[str, str] = field(default_factory=dict)  # service -> the app's version before the change
    whole: bool = False         # --with-config replaced whole definitions: undo restores those versions


def write_snapshot(store: StateStore, stamp: str, *, env: str, command: str, marathon: str,
                   app_ids: Mapping[str, str], images: Mapping[str, str | None],
                   versions: Mapping[str, str | None] | None = None, whole: bool = False) -> str:
    """Put the snapshot in the store (the file store: ``--dump``); returns its reference for ``undo``.

    ``versions`` name each app's definition before the change (Marathon keeps it, by its version).
    """
    versions = versions or {}
    doc = {
        "format": SNAPSHOT_FORMAT,
        "env": env,
        "command": command,
        "marathon": marathon,
        "taken_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "whole": whole,
        "apps": [{"service": s, "app_id": app_ids[s], "image": images.get(s), "version": versions.get(s)}
                 for s in app_ids],
    }
    return store.put_snapshot(env, f"snapshot-{stamp}", json_text(doc).encode("utf-8"))


def read_snapshot(store: StateStore, ref: str, *, check_app_id: Callable[[object, str], str]) -> Snapshot:
    """A snapshot is read back as untrusted input: env, services, app ids and images are checked
    as if typed on the command line (its env names files; its images go to Marathon). An app id is
    the platform's to judge (``check_app_id``: Marathon's is ``marathon.appmap.check_app_id``)."""
    raw, path = store.get_snapshot(ref)

    def bad(what: str) -> UsageError:
        return UsageError(f"{path} is not a usable snapshot: {what}")

    try:
        data: Any = loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("it is not UTF-8 text") from None
    except ValueError:
        raise bad("invalid JSON (truncated?)") from None
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        raise bad(f"format must be {SNAPSHOT_FORMAT}")
    apps = data.get("apps")
    if not isinstance(apps, list) or not isinstance(data.get("env"), str):
        raise bad("'env' or 'apps' is missing")
    env = check_env(data["env"], source=f"{path}: env")
    images: dict[str, str] = {}
    app_ids: dict[str, str] = {}
    versions: dict[str, str] = {}
    for entry in apps:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("service", "app_id")):
            raise bad("an app entry lacks service or app_id")
        service = check_service(entry["service"], flag=f"{path}: service")
        if service in app_ids:
            raise bad(f"service {service!r} is listed twice")
        app_ids[service] = check_app_id(entry["app_id"], f"{path}: app_id of {service}")
        image = entry.get("image")
        if image is not None:
            images[service] = check_image(image, f"{path}: image of {service}")
        if entry.get("version") is not None:  # sent to Marathon as is by a whole-definition undo
            versions[service] = _check_version(entry["version"], f"{path}: version of {service}")
    REGISTRY.data_words(images.values())
    whole = data.get("whole", False) is True
    if whole and set(versions) != set(app_ids):
        raise bad("it replaced whole definitions but does not name every app's version")
    return Snapshot(env=env, taken_at=str(data.get("taken_at", ""))[:40], command=str(data.get("command", ""))[:20],
                    images=images, app_ids=app_ids, path=path, versions=versions, whole=whole)


# Marathon's version stamps: an ISO-8601 instant, ``2026-11-19T10:05:00.123Z`` (ASCII digits only).
_VERSION_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:?[0-9]{2})",
                         re.ASCII)


def _check_version(value: object, where: str) -> str:
    if isinstance(value, str) and _VERSION_RE.fullmatch(value):
        try:
            parse_instant(value)
            return value
        except ValueError:
            pass
    raise UsageError(f"{where}: {shorten(value)} is not a Marathon version like 2026-11-19T10:05:00.123Z")
