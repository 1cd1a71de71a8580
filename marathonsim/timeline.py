"""Events from the simulated timeline (docs/simulator.md, "Events"): what tasks went through
between two looks, deployment events, in time order (`core/event/Events.scala`)."""
from __future__ import annotations

import heapq
import itertools
import math
from typing import Any, Iterable

from .events import EventLog, status_update
from .tasks import Task


class Timeline:
    def __init__(self) -> None:
        self.events = EventLog()
        self._pending: list[tuple[float, int, str, dict[str, Any]]] = []
        self._killing: set[str] = set()  # apps with tasks in TASK_KILLING
        self._changes: list[tuple[float, int, Task]] = []  # tasks by next transition
        self._seq = itertools.count()

    def _emit(self, at: float, event_type: str, **fields: Any) -> None:
        self._pending.append((at, len(self._pending), event_type, fields))

    def _flush(self) -> None:
        for at, _, event_type, fields in sorted(self._pending, key=lambda e: (e[0], e[1])):
            self.events.emit(event_type, at, **fields)
        self._pending.clear()

    def _task_event(self, task: Task, status: str, at: float, message: str = "") -> None:
        self._emit(at, "status_update_event", **status_update(task, status, at, message))
        if status in ("TASK_KILLED", "TASK_FAILED"):
            self._emit(at, "instance_changed_event", instanceId=task.instance_id,
                       condition="Killed" if status == "TASK_KILLED" else "Failed",
                       runSpecId=task.app_id, agentId=task.slave_id, host=task.host,
                       runSpecVersion=task.version)

    def _task_transitions(self, now: float, tasks: Iterable[Task] | None = None,
                          until: float | None = None) -> None:
        """Events of what tasks went through since the last look, up to `until` (now).
        Without `tasks`, only those due by then are looked at (a heap by next change)."""
        upto = now if until is None else until
        if tasks is not None:
            for task in tasks:
                self._look(task, upto)
            return
        heap = self._changes
        while heap and heap[0][0] <= upto:
            due, _, task = heapq.heappop(heap)
            if due == task.next_change:  # else stale: looked at since
                self._look(task, upto)

    def _look(self, task: Task, upto: float) -> None:
        if task.waiting or upto < task.next_change:
            return  # no room yet, or nothing new before next_change
        for at, kind in task.transitions(task.seen_until, upto):
            self._transition_event(task, kind, at)
        task.seen_until = max(task.seen_until, upto)
        self._touch(task, max(task.next_change, math.nextafter(upto, math.inf)))

    def _touch(self, task: Task, due: float = -math.inf) -> None:
        """Remember when to look at a task again (-inf: it changed, look at once)."""
        task.next_change = due
        if due != math.inf:
            heapq.heappush(self._changes, (due, next(self._seq), task))

    def _transition_event(self, task: Task, kind: str, at: float) -> None:
        if kind.startswith("TASK_"):
            message = task.profile.failure_message if kind == "TASK_FAILED" else ""
            self._task_event(task, kind, at, message)
        elif kind == "healthy":
            self._emit(at, "health_status_changed_event", appId=task.app_id,
                       instanceId=task.instance_id, version=task.version, alive=True)
            self._emit(at, "instance_health_changed_event", instanceId=task.instance_id,
                       runSpecId=task.app_id, healthy=True, runSpecVersion=task.version)
        elif kind == "unhealthy":
            self._emit(at, "instance_health_changed_event", instanceId=task.instance_id,
                       runSpecId=task.app_id, healthy=False, runSpecVersion=task.version)
        elif kind == "health-kill":
            self._emit(at, "unhealthy_instance_kill_event", appId=task.app_id,
                       taskId=task.task_id(at), instanceId=task.instance_id,
                       version=task.version, reason="Connection refused", host=task.host,
                       slaveId=task.slave_id)

    def _on_kill(self, kind: str, task: Task, at: float) -> None:
        """A deployment or a client kills an instance: its story up to now, then the kill."""
        self._task_transitions(at, [task], until=at)
        if task.profile.kill_grace > 0:
            self._killing.add(task.app_id)
            self._touch(task)
        else:
            task.next_change = math.inf  # gone: nothing more to tell
        if task.listed(at):
            self._task_event(task, "TASK_KILLING" if task.profile.kill_grace > 0
                             else "TASK_KILLED", at)

