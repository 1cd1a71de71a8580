"""One app as the store keeps it: current definition, version history, live tasks."""
from __future__ import annotations

import copy
from typing import Any, Callable

from .clock import canonical_stamp, parse_ms
from .tasks import Task

App = dict[str, Any]
Spawn = Callable[["AppRecord", float, str], Task]
Notify = Callable[[str, Task, float], None]


class AppRecord:
    """Implements deploy.Fleet: deployments launch and kill tasks through it."""

    def __init__(self, app: App, spawn: Spawn, notify: Notify | None = None) -> None:
        self.app = app
        self.history: dict[str, App] = {}  # version -> definition (with version, versionInfo)
        self.tasks: list[Task] = []  # live instances, waiting ones included
        self.killing: list[Task] = []  # killed, within taskKillGracePeriodSeconds
        self._spawn = spawn
        self._notify = notify or (lambda kind, task, at: None)
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
        """Kill an instance: TASK_KILLING for taskKillGracePeriodSeconds, then gone."""
        self.tasks.remove(task)
        self._note_failure(task.last_failure(at))
        if not task.waiting:
            self._notify("killed", task, at)
        if task.profile.kill_grace > 0 and not task.waiting and task.listed(at):
            task.killed_at = at
            self.killing.append(task)

    def purge(self, now: float) -> list[Task]:
        """Drop killed tasks whose grace period is over; returns them."""
        gone = [t for t in self.killing
                if t.killed_at is not None and t.killed_at + t.profile.kill_grace <= now]
        self.killing = [t for t in self.killing if t not in gone]
        return gone

    def shown(self) -> list[Task]:
        """Tasks GET shows, oldest launch first: live ones and those being killed."""
        return self.tasks + self.killing

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
