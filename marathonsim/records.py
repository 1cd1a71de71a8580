"""One app as the store keeps it: current definition, version history, live tasks."""
from __future__ import annotations

import copy
from typing import Any, Callable

from .clock import canonical_stamp, parse_ms
from .tasks import Task

App = dict[str, Any]
Spawn = Callable[["AppRecord", float, str], Task]


class AppRecord:
    """Implements deploy.Fleet: deployments launch and kill tasks through it."""

    def __init__(self, app: App, spawn: Spawn) -> None:
        self.app = app
        self.history: dict[str, App] = {}  # version -> definition (with version, versionInfo)
        self.tasks: list[Task] = []
        self._spawn = spawn
        self._last_failure: dict[str, Any] | None = None

    @property
    def app_id(self) -> str:
        return str(self.app["id"])

    def remember(self, app: App, max_versions: int) -> None:
        """Store a version; only the newest `max_versions` instants are kept, as Marathon's
        storage GC keeps `--zk_max_versions` (`storage/repository/GcActor.scala`)."""
        self.history[app["version"]] = copy.deepcopy(app)
        if len(self.history) > max_versions:
            newest = sorted(self.history, key=parse_ms, reverse=True)[:max(max_versions, 1)]
            self.history = {v: self.history[v] for v in newest}

    def stored(self, version: str) -> App | None:
        """The definition stored under any ISO-8601 spelling of `version` (ValueError when
        it does not parse)."""
        found = self.history.get(canonical_stamp(version))
        return copy.deepcopy(found) if found is not None else None

    def launch(self, at: float, version: str) -> Task:
        task = self._spawn(self, at, version)
        self.tasks.append(task)
        return task

    def kill(self, task: Task, at: float) -> None:
        self.tasks.remove(task)
        self._note_failure(task.last_failure(at))

    def last_failure(self, t: float) -> dict[str, Any] | None:
        """lastTaskFailure: the newest failure of a live or already killed task."""
        newest = self._last_failure
        for task in self.tasks:
            failure = task.last_failure(t)
            if failure and (newest is None or failure["timestamp"] > newest["timestamp"]):
                newest = failure
        return newest

    def _note_failure(self, failure: dict[str, Any] | None) -> None:
        if failure and (self._last_failure is None
                        or failure["timestamp"] > self._last_failure["timestamp"]):
            self._last_failure = failure
