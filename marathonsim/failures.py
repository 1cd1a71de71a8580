"""lastTaskFailure, as Marathon records it (`state/TaskFailure.scala`, `core/history/impl/HistoryActor.scala`).

Marathon keeps one TaskFailure per app, the newest: a Mesos status update in a failure state
(TASK_FAILED, TASK_ERROR, TASK_LOST, TASK_DROPPED, TASK_GONE, TASK_UNKNOWN...) or a kill for
failed health checks (TASK_KILLED). Its `version` is the app version the task ran; it is deleted
with the app (`AppTerminatedEvent`). A kill by a deployment (a replaced task) is no failure.
"""
from __future__ import annotations

from typing import Any, Protocol

from .clock import iso
from .profile import NEVER, Phase, Profile


class Task(Protocol):
    """What a failure is made of: the instance (marathonsim/tasks.py's Task) as far as it is read here."""

    instance_id: str
    app_id: str
    version: str
    host: str
    slave_id: str
    waiting: bool
    killed_at: float | None
    base: int
    earlier_failure: dict[str, Any] | None

    @property
    def profile(self) -> Profile: ...

    @property
    def fault(self) -> str: ...

    def phase(self, t: float) -> Phase: ...


def last_failure(task: "Task", t: float) -> dict[str, Any] | None:
    """The newest TASK_FAILED of an instance that never runs, or the newest kill for failed
    health checks, as lastTaskFailure (`state/TaskFailure.scala`)."""
    if task.waiting:
        return None
    if task.fault != "failing":
        return _health_kill(task, t)
    phase = task.phase(t)
    local = phase.n - task.base
    if phase.delayed_until is not None:
        n, end = phase.n, phase.start + task.profile.half
    elif local >= 2:
        n, end = phase.n - 1, phase.start - task.profile.delay(local - 1)
    else:
        return task.earlier_failure
    return {"appId": task.app_id, "host": task.host,
            "message": task.profile.failure_message, "state": "TASK_FAILED",
            "taskId": f"{task.instance_id}._app.{n}", "slaveId": task.slave_id,
            "timestamp": iso(end), "version": task.version}


def _health_kill(task: "Task", t: float) -> dict[str, Any] | None:
    """An incarnation killed for failed health checks: `HealthCheckActor` publishes an
    `UnhealthyInstanceKillEvent` and `HistoryActor` stores it as a TaskFailure (TASK_KILLED,
    "Task was killed since health check failed. Reason: <lastFailureCause>", at lastFailure,
    with the app version the check belongs to)."""
    p = task.profile
    kill = p.kill_tick
    if kill is None or p.life == NEVER:
        return task.earlier_failure
    phase = task.phase(t)
    offset = p.running_after + p.tick(kill)
    local = phase.n - task.base
    if phase.delayed_until is not None or t >= phase.start + offset:
        n, at = phase.n, phase.start + offset
    elif local >= 2:
        n, at = phase.n - 1, phase.start - p.delay(local - 1) - p.kill_grace
    else:
        return task.earlier_failure
    if task.killed_at is not None and at >= task.killed_at:
        return None  # replaced by a deployment before the checks killed it
    return {"appId": task.app_id, "host": task.host,
            "message": "Task was killed since health check failed. Reason: Connection refused",
            "state": "TASK_KILLED", "taskId": f"{task.instance_id}._app.{n}",
            "slaveId": task.slave_id, "timestamp": iso(at), "version": task.version}

