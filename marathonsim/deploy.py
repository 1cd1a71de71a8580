"""Deployments and how they move tasks (docs/simulator.md, "Deployments, tasks and health";
Marathon's `core/deployment/DeploymentPlan.scala` and `core/deployment/impl/TaskReplaceActor.scala`).

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

ACTIONS = {  # the steps each kind of change produces (DeploymentPlan.dependencyOrderedSteps)
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

    def to_json(self, readiness: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """One entry of GET /v2/deployments (`raml/DeploymentPlanConversion.scala`)."""
        step = self.current_step
        current = [{"action": self.actions[step - 1], "app": self.app_id,
                    "readinessCheckResults": readiness or []}] if step else []
        return {"id": self.id, "version": self.version, "affectedApps": [self.app_id],
                "affectedPods": [],
                "steps": [{"actions": [{"action": a, "app": self.app_id}]} for a in self.actions],
                "currentActions": current, "currentStep": step, "totalSteps": len(self.actions)}

    def plan_json(self) -> dict[str, Any]:
        """The plan as events carry it (raml DeploymentPlan), without the group trees."""
        return {"id": self.id, "version": self.version,
                "steps": [{"actions": [{"action": a, "app": self.app_id}]} for a in self.actions],
                "original": {"id": "/", "apps": [self.original] if self.original else []},
                "target": {"id": "/", "apps": []}}

    def start(self, fleet: Fleet, at: float) -> None:
        if self.kind == "restart":
            self._start_restart(fleet, at)
        elif self.kind in ("start", "scale"):
            self._start_scale(fleet, at)
        elif self.kind == "stop":
            for task in list(fleet.tasks):
                fleet.kill(task, at)
        self._check_done(fleet, at)

    def next_event(self, fleet: Fleet) -> float | None:
        """When the next launched task becomes ready (None: no such moment is known yet)."""
        if self.done:
            return None
        times = [at for t in fleet.tasks if t.instance_id in self.launched
                 and t.instance_id not in self.counted
                 for at in [t.ready_at()] if at is not None]
        return min(times, default=None)

    def step(self, fleet: Fleet, at: float) -> None:
        """The task that is ready at `at` counts: kill an old one, launch the next new one."""
        for task in fleet.tasks:
            if (task.instance_id in self.launched and task.instance_id not in self.counted
                    and task.ready_at() == at):
                self.counted.add(task.instance_id)
                break
        if self.kind == "restart":
            old = self._old(fleet)
            if old:
                fleet.kill(old[0], at)
            self._launch(fleet, at, limit=self.max_capacity)
        self._check_done(fleet, at)

    def advance(self, fleet: Fleet, now: float) -> None:
        """Replay, oldest first, each launched task becoming ready at or before now."""
        while (at := self.next_event(fleet)) is not None and at <= now:
            self.step(fleet, at)

    def readiness(self, fleet: Fleet, t: float) -> list[dict[str, Any]]:
        """readinessCheckResults of the new tasks (`core/deployment/impl/ReadinessBehavior.scala`)."""
        return [r for t_ in fleet.tasks if t_.instance_id in self.launched for r in t_.readiness_results(t)]

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

    def relaunch(self, fleet: Fleet, at: float) -> None:
        """Launch what is pending again (a new task of this deployment was killed)."""
        limit = self.max_capacity if self.kind == "restart" else self.instances
        self._launch(fleet, at, limit=limit)

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
        return sorted(ordered, key=lambda t: not (t.fault or t.waiting))

    def _check_done(self, fleet: Fleet, at: float) -> None:
        if self.pending == 0 and self.launched <= self.counted:
            if self.kind == "restart":
                for task in self._old(fleet):
                    fleet.kill(task, at)
            self.done = True
