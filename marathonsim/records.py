"""One app as the store keeps it: current definition, version history, live tasks."""
from __future__ import annotations

import copy
from typing import Any, Callable

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
        """Store a version; beyond max_versions the oldest go (--zk_max_versions, section 7)."""
        self.history[app["version"]] = copy.deepcopy(app)
        while len(self.history) > max_versions:
            del self.history[min(self.history)]

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
