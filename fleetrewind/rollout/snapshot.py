"""Snapshots: the images every target app ran before the first change, to undo from."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..atomic import write_json
from ..errors import UsageError

SNAPSHOT_FORMAT = 1


@dataclass(frozen=True)
class Snapshot:
    env: str
    taken_at: str
    command: str
    images: dict[str, str]      # service -> image
    app_ids: dict[str, str]     # service -> app id
    path: Path | None = None


def write_snapshot(folder: Path, stamp: str, *, env: str, command: str, marathon: str,
                   app_ids: Mapping[str, str], images: Mapping[str, str | None]) -> Path:
    path = folder / f"snapshot-{stamp}.json"
    write_json(path, {
        "format": SNAPSHOT_FORMAT,
        "env": env,
        "command": command,
        "marathon": marathon,
        "taken_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "apps": [{"service": s, "app_id": app_ids[s], "image": images.get(s)} for s in app_ids],
    })
    return path


def read_snapshot(path: Path) -> Snapshot:
    def bad(what: str) -> UsageError:
        return UsageError(f"{path} is not a usable snapshot: {what}")

    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"snapshot {path} does not exist; snapshots are the snapshot-<stamp>.json files in --dump") from None
    except OSError as exc:
        raise UsageError(f"cannot read snapshot {path}: {exc.strerror}") from None
    except ValueError:
        raise bad("invalid JSON (truncated?)") from None
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        raise bad(f"format must be {SNAPSHOT_FORMAT}")
    apps = data.get("apps")
    if not isinstance(apps, list) or not isinstance(data.get("env"), str):
        raise bad("'env' or 'apps' is missing")
    images: dict[str, str] = {}
    app_ids: dict[str, str] = {}
    for entry in apps:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("service", "app_id")):
            raise bad("an app entry lacks service or app_id")
        app_ids[entry["service"]] = entry["app_id"]
        if isinstance(entry.get("image"), str):
            images[entry["service"]] = entry["image"]
    return Snapshot(env=data["env"], taken_at=str(data.get("taken_at", "")), command=str(data.get("command", "")),
                    images=images, app_ids=app_ids, path=path)
