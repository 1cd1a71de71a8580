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

    def remember(self, app: App) -> None:
        """Store a version. Nothing is dropped here: Marathon's storage GC trims the list to
        `--zk_max_versions` in a later, periodic pass (`storage/repository/GcActor.scala`;
        see :meth:`trim` and docs/simulator.md, "History")."""
        self.history[app["version"]] = copy.deepcopy(app)

    def trim(self, max_versions: int, in_use: set[str]) -> int:
        """The GC pass for this app: the oldest versions not in use go until `max_versions`
        are left (GcActor.scala: `candidateVersions.take(versions.size - maxVersions)`).
        Returns how many went."""
        excess = len(self.history) - max_versions
        if excess <= 0:
            return 0
        candidates = [v for v in sorted(self.history, key=parse_ms) if v not in in_use][:excess]
        for version in candidates:
            del self.history[version]
        return len(candidates)

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

    def seed_failure(self, failure: dict[str, Any] | None) -> None:
        """A lastTaskFailure from the seeded history (docs/simulator.md, "History")."""
        self._note_failure(failure)

    def _note_failure(self, failure: dict[str, Any] | None) -> None:
        if failure and (self._last_failure is None
                        or failure["timestamp"] > self._last_failure["timestamp"]):
            self._last_failure = failure
