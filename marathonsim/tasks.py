"""Simulated tasks. A task's state at time t is computed from its launch time, so reads are
pure and the timeline does not depend on how often a client polls.

Timeline of one task, with c = deploy_seconds (the time a task takes to become ready):
- good, with health checks: TASK_STAGING for c/2, TASK_RUNNING without health results
  (grace period) until c, then healthy.
- good, no health checks: TASK_STAGING until c, then TASK_RUNNING (no health results ever,
  so it is in neither health count, reference section 9).
- fault "unhealthy" (image in unhealthy_images, app with health checks): staging c/2, then
  running with failing results; after maxConsecutiveFailures results it is killed and
  relaunched (next incarnation), forever.
- fault "failing" (image in failing_images, or unhealthy_images on an app without health
  checks): never runs; each incarnation stages for c/2, ends TASK_FAILED and is relaunched,
  leaving lastTaskFailure on the app (section 13 "a bad image that never runs").
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .clock import iso

MIN_CYCLE = 0.01  # keeps incarnation arithmetic finite when deploy_seconds is 0


@dataclass
class Task:
    instance_id: str  # "<app_id with _>.instance-<uuid>"; Marathon task id adds "._app.<n>"
    app_id: str
    version: str  # the app version the task was launched for
    staged_at: float
    cycle: float
    health_checks: bool
    fault: str  # "", "unhealthy" or "failing"
    max_failures: int
    host: str
    slave_id: str
    port: int
    service_ports: list[int] = field(default_factory=list)

    @property
    def ready_at(self) -> float | None:
        """When a deployment may count this task as done (running, and healthy if checked)."""
        return None if self.fault else self.staged_at + self.cycle

    @property
    def _half(self) -> float:
        return (max(self.cycle, MIN_CYCLE) if self.fault else self.cycle) / 2

    @property
    def _running_after(self) -> float:
        """Seconds from an incarnation's staging to TASK_RUNNING."""
        return self._half if (self.health_checks or self.fault) else self.cycle

    def _attempt(self, t: float) -> tuple[int, float]:
        """(incarnation number from 1, start time of that incarnation)."""
        if not self.fault:
            return 1, self.staged_at
        length = self._half * ((1 + max(self.max_failures, 1)) if self.fault == "unhealthy" else 1)
        n = max(0, math.floor((t - self.staged_at) / length))
        return n + 1, self.staged_at + n * length

    def state(self, t: float) -> str:
        if self.fault == "failing":
            return "TASK_STAGING"
        _, start = self._attempt(t)
        return "TASK_RUNNING" if t >= start + self._running_after else "TASK_STAGING"

    def health(self, t: float) -> bool | None:
        """True/False when health results exist, None when there are none (yet)."""
        results = self.health_results(t)
        return None if not results else all(r["alive"] for r in results)

    def health_results(self, t: float) -> list[dict[str, Any]]:
        if not self.health_checks or self.state(t) != "TASK_RUNNING":
            return []
        if self.fault == "unhealthy":
            _, start = self._attempt(t)
            step = self._half
            failures = min(self.max_failures, 1 + math.floor((t - start - step) / step))
            return [{"instanceId": self.instance_id, "alive": False,
                     "consecutiveFailures": max(failures, 1),
                     "lastFailure": iso(t), "lastFailureCause": "Connection refused"}]
        if t < self.staged_at + self.cycle:
            return []  # grace period: no result yet
        return [{"instanceId": self.instance_id, "alive": True, "consecutiveFailures": 0,
                 "firstSuccess": iso(self.staged_at + self.cycle), "lastSuccess": iso(t)}]

    def last_failure(self, t: float) -> dict[str, Any] | None:
        """The newest TASK_FAILED of a task that never runs, as lastTaskFailure."""
        if self.fault != "failing":
            return None
        n, start = self._attempt(t)
        if n < 2:
            return None
        return {"appId": self.app_id, "host": self.host,
                "message": "Container exited with status 1", "state": "TASK_FAILED",
                "taskId": f"{self.instance_id}._app.{n - 1}", "slaveId": self.slave_id,
                "timestamp": iso(start), "version": self.version}

    def to_json(self, t: float) -> dict[str, Any]:
        n, start = self._attempt(t)
        state = self.state(t)
        task: dict[str, Any] = {
            "id": f"{self.instance_id}._app.{n}", "appId": self.app_id, "host": self.host,
            "slaveId": self.slave_id, "state": state, "ports": [self.port],
            "servicePorts": list(self.service_ports),
            "ipAddresses": [{"ipAddress": self.host, "protocol": "IPv4"}],
            "stagedAt": iso(start), "version": self.version, "localVolumes": [], "role": "*",
        }
        if state == "TASK_RUNNING":
            task["startedAt"] = iso(start + self._running_after)
        results = self.health_results(t)
        if results:
            task["healthCheckResults"] = results
        return task


def counts(tasks: list[Task], t: float) -> dict[str, int]:
    """tasksStaged/Running/Healthy/Unhealthy over all tasks, old and new (section 9)."""
    states = [task.state(t) for task in tasks]
    health = [task.health(t) for task in tasks]
    return {"tasksStaged": states.count("TASK_STAGING"),
            "tasksRunning": states.count("TASK_RUNNING"),
            "tasksHealthy": health.count(True), "tasksUnhealthy": health.count(False)}
