"""Marathon's storage garbage collection of versions, as a periodic pass (docs/simulator.md, "History").

Marathon does not drop an app's oldest version when it stores a new one. Its `GcActor`
(`src/main/scala/mesosphere/marathon/storage/repository/GcActor.scala`) runs a pass when asked
(a finished deployment asks: `DeploymentRepository.delete`) unless it is resting; after a pass it
rests `--storage_compaction_interval` seconds (default 30) and ignores requests meanwhile. A pass
only does work once more than `--zk_max_versions` root versions are stored; then it deletes the
apps no kept root refers to (a deleted app's versions stay until then) and, for each app with more
than the cap, its oldest versions not in use. So a version list may exceed the cap for a while.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

App = dict[str, Any]

DEFAULT_INTERVAL = 30.0  # --storage_compaction_interval (StorageConf.scala)


class Collector:
    """The GC's state: root versions stored, deleted apps' versions, and when it rests until."""

    def __init__(self, max_versions: int, interval: float = DEFAULT_INTERVAL) -> None:
        self.max_versions = max_versions
        self.interval = interval
        self.roots = 0                            # root group versions stored (one per change)
        self.graves: dict[str, dict[str, App]] = {}  # deleted app id -> its stored versions
        self.resting_until = -math.inf
        self.passes = 0

    def stored(self) -> None:
        """A change stored a new root group version."""
        self.roots += 1

    def deleted(self, app_id: str, history: dict[str, App]) -> None:
        """An app was deleted: its versions stay stored until a pass collects them."""
        self.graves[app_id] = history
        self.stored()

    def revive(self, app_id: str) -> dict[str, App]:
        """An app created again under a deleted id finds its old versions (until a pass)."""
        return self.graves.pop(app_id, {})

    def grave(self, app_id: str) -> dict[str, App] | None:
        return self.graves.get(app_id)

    def run(self, at: float, apps: Iterable[Any], in_use: Mapping[str, set[str]]) -> bool:
        """A pass if not resting (a finished deployment asks for one); True if it ran.

        ``apps``: the live app records (with ``trim``); ``in_use``: app id -> versions a
        deployment in flight or the current definition refers to (never deleted).
        """
        if at < self.resting_until:
            return False
        self.resting_until = at + self.interval
        self.passes += 1
        if self.roots <= self.max_versions:
            return True  # nothing over the cap: the scan finds nothing to do
        self.roots = self.max_versions
        self.graves.clear()
        for rec in apps:
            rec.trim(self.max_versions, in_use.get(rec.app_id, set()))
        return True
