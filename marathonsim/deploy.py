"""Deployments and how they move tasks (reference sections 8, 9 and 13).

A deployment is advanced lazily: on every request the store replays, in time order, the
moments when tasks it launched became ready, up to now. A restart follows Marathon's task
replacement: with upgradeStrategy (minimumHealthCapacity, maximumOverCapacity) it kills some
old tasks at once, launches new ones up to the capacity, and kills one old task per new task
that is ready. A deployment ends only when every new task is ready; it never fails by itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from .tasks import Task

ACTIONS = {  # section 8: the steps each kind of change produces
    "start": ["StartApplication", "ScaleApplication"],
    "restart": ["RestartApplication"],
    "scale": ["ScaleApplication"],
    "stop": ["StopApplication"],
    "none": [],
}


class Fleet(Protocol):
    """The tasks of one app, as a deployment sees them."""

    tasks: list[Task]

    def launch(self, at: float, version: str) -> Task: ...

    def kill(self, task: Task, at: float) -> None: ...


@dataclass
class Deployment:
    id: str
    version: str
    app_id: str
    kind: str
    instances: int
    task_version: str  # version new tasks are launched for
    upgrade: dict[str, Any]
    kill_selection: str
    original: dict[str, Any] | None  # definition before; None when this created the app
    launched: set[str] = field(default_factory=set)
    counted: set[str] = field(default_factory=set)
    pending: int = 0
    max_capacity: int = 0
    done: bool = False

    @property
    def actions(self) -> list[str]:
        return ACTIONS[self.kind]

    @property
    def current_step(self) -> int:
        """Counts from 1; a new app's StartApplication step completes at once."""
        if not self.actions:
            return 0
        return 2 if self.kind == "start" else 1

    def to_json(self) -> dict[str, Any]:
        """One entry of GET /v2/deployments (section 8)."""
        step = self.current_step
        current = [{"action": self.actions[step - 1], "app": self.app_id,
                    "readinessCheckResults": []}] if step else []
        return {"id": self.id, "version": self.version, "affectedApps": [self.app_id],
                "affectedPods": [],
                "steps": [{"actions": [{"action": a, "app": self.app_id}]} for a in self.actions],
                "currentActions": current, "currentStep": step, "totalSteps": len(self.actions)}

    def start(self, fleet: Fleet, at: float) -> None:
        if self.kind == "restart":
            self._start_restart(fleet, at)
        elif self.kind in ("start", "scale"):
            self._start_scale(fleet, at)
        elif self.kind == "stop":
            for task in list(fleet.tasks):
                fleet.kill(task, at)
        self._check_done(fleet, at)

    def advance(self, fleet: Fleet, now: float) -> None:
        """Replay, oldest first, each launched task becoming ready at or before now."""
        while not self.done:
            ready = [t for t in fleet.tasks if t.instance_id in self.launched
                     and t.instance_id not in self.counted
                     and t.ready_at is not None and t.ready_at <= now]
            if not ready:
                return
            task = min(ready, key=lambda t: t.ready_at or 0.0)
            at = task.ready_at or now
            self.counted.add(task.instance_id)
            if self.kind == "restart":
                old = self._old(fleet)
                if old:
                    fleet.kill(old[0], at)
                self._launch(fleet, at, limit=self.max_capacity)
            self._check_done(fleet, at)

    def _start_restart(self, fleet: Fleet, at: float) -> None:
        # Marathon's TaskReplaceActor.computeRestartStrategy.
        old = self._old(fleet)
        n = self.instances
        min_healthy = math.ceil(n * self.upgrade["minimumHealthCapacity"])
        self.max_capacity = math.floor(n * (1 + self.upgrade["maximumOverCapacity"]))
        kill_now = max(0, len(old) - min_healthy)
        if min_healthy == self.max_capacity and self.max_capacity <= len(old):
            self.max_capacity += 1  # force progress, one extra task at a time
        for task in old[:kill_now]:
            fleet.kill(task, at)
        self.pending = n
        self._launch(fleet, at, limit=self.max_capacity)

    def _start_scale(self, fleet: Fleet, at: float) -> None:
        extra = len(fleet.tasks) - self.instances
        for task in self._kill_order(fleet.tasks)[:max(extra, 0)]:
            fleet.kill(task, at)
        self.pending = max(-extra, 0)
        self._launch(fleet, at, limit=self.instances)

    def _launch(self, fleet: Fleet, at: float, limit: int) -> None:
        while self.pending > 0 and len(fleet.tasks) < limit:
            self.launched.add(fleet.launch(at, self.task_version).instance_id)
            self.pending -= 1

    def _old(self, fleet: Fleet) -> list[Task]:
        return self._kill_order([t for t in fleet.tasks if t.instance_id not in self.launched])

    def _kill_order(self, tasks: list[Task]) -> list[Task]:
        """Tasks that never get ready go first, then by killSelection."""
        youngest_first = self.kill_selection != "OLDEST_FIRST"
        ordered = sorted(tasks, key=lambda t: t.staged_at, reverse=youngest_first)
        return sorted(ordered, key=lambda t: not t.fault)

    def _check_done(self, fleet: Fleet, at: float) -> None:
        if self.pending == 0 and self.launched <= self.counted:
            if self.kind == "restart":
                for task in self._old(fleet):
                    fleet.kill(task, at)
            self.done = True
