"""Marathon's event bus as GET /v2/events serves it (docs/simulator.md, "Events").

Events carry Marathon's field names (`core/event/Events.scala`, `api/v2/json/Formats.scala`).
The log keeps the newest events with a sequence number; each stream reads from where it
attached, so a slow reader never blocks the store.
"""
from __future__ import annotations

import threading
from typing import Any

from .clock import iso

LIMIT = 10_000


class EventLog:
    def __init__(self) -> None:
        self._events: list[tuple[int, dict[str, Any]]] = []
        self._next = 0
        self._cond = threading.Condition()
        self.closed = False

    def emit(self, event_type: str, at: float, **fields: Any) -> None:
        event = {**fields, "eventType": event_type, "timestamp": iso(at)}
        with self._cond:
            self._events.append((self._next, event))
            self._next += 1
            del self._events[:-LIMIT]
            self._cond.notify_all()

    @property
    def cursor(self) -> int:
        """The sequence number the next event will get."""
        with self._cond:
            return self._next

    def since(self, cursor: int) -> tuple[list[dict[str, Any]], int]:
        """Events from `cursor` on, and the cursor after them."""
        with self._cond:
            found = [event for seq, event in self._events if seq >= cursor]
            return found, self._next

    def wait(self, cursor: int, timeout: float) -> None:
        """Until an event at or after `cursor` exists, the log closes, or timeout."""
        with self._cond:
            if self._next <= cursor and not self.closed:
                self._cond.wait(timeout)

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def all(self) -> list[dict[str, Any]]:
        with self._cond:
            return [event for _, event in self._events]


def status_update(task: Any, status: str, at: float, message: str = "") -> dict[str, Any]:
    """The fields of a status_update_event (MesosStatusUpdateEvent)."""
    return {"slaveId": task.slave_id, "taskId": task.task_id(at), "taskStatus": status,
            "message": message, "appId": task.app_id, "host": task.host,
            "ipAddresses": [{"ipAddress": task.host, "protocol": "IPv4"}],
            "ports": [task.port], "version": task.version}
