"""Knobs a test or the demo sets, per app or for every app (docs/simulator.md, "Knobs").

They are not Marathon's: they stand in for what the real cluster does to tasks (a launch
that fails, a service slow to answer its health check, a readiness endpoint that never says
ready, offers that never fit). A knob applies to tasks launched after it is set.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

ALL_APPS = "*"
DEFAULT_FAILURE_MESSAGE = "Container exited with status 1"
# Offer rejection reasons, in the order Marathon's offer matcher checks them
# (`core/launchqueue/impl/OfferMatchStatistics.scala`, `raml` NoOfferMatchReason).
REASONS = ("UnfulfilledRole", "UnfulfilledConstraint", "NoCorrespondingReservationFound",
           "AgentMaintenance", "InsufficientCpus", "InsufficientMemory", "InsufficientDisk",
           "InsufficientGpus", "InsufficientPorts", "DeclinedScarceResources")


@dataclass(frozen=True)
class Knobs:
    launch_failure: str | None = None  # every launch fails (TASK_FAILED) with this message
    failure_message: str | None = None  # message of failing_images launches
    health_delay_seconds: float | None = None  # running -> first passing health check
    ready_delay_seconds: float | None = None  # running -> readiness checks pass
    never_ready: bool = False  # readiness checks never pass
    decline_reason: str | None = None  # every offer declined for this reason: never placed
    health_grace: bool = False  # Marathon's grace period: failed checks ignored until then
    launch_backoff: bool = False  # Marathon's launch delay after a failed or killed task

    @classmethod
    def from_json(cls, data: Any, where: str = "knobs") -> "Knobs":
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} must be an object (found: {data!r})")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: unknown knobs {unknown}; known: {sorted(known)}")
        for key, value in data.items():
            if key in ("never_ready", "health_grace", "launch_backoff"):
                ok = isinstance(value, bool)
            elif key.endswith("_seconds"):
                ok = value is None or (isinstance(value, (int, float))
                                       and not isinstance(value, bool) and value >= 0)
            else:
                ok = value is None or (isinstance(value, str) and bool(value))
            if not ok:
                raise ValueError(f"{where}: knob {key!r} has a bad value (found: {value!r})")
        reason = data.get("decline_reason")
        if reason is not None and reason not in REASONS:
            raise ValueError(f"{where}: decline_reason must be one of {list(REASONS)} "
                             f"(found: {reason!r})")
        return cls(**data)

    def over(self, base: "Knobs") -> "Knobs":
        """These knobs where set, `base` elsewhere."""
        changes = {f.name: getattr(self, f.name) for f in fields(self)
                   if getattr(self, f.name) != getattr(Knobs(), f.name)}
        return replace(base, **changes)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != getattr(Knobs(), f.name)}


@dataclass(frozen=True)
class Capacity:
    """The cluster: `agents` equal agents sharing `cpus` and `mem`; each agent offers its
    free resources every `offer_interval_seconds`."""

    cpus: float
    mem: float
    agents: int = 1
    offer_interval_seconds: float = 1.0

    @classmethod
    def from_json(cls, data: Any) -> "Capacity":
        if not isinstance(data, Mapping):
            raise ValueError(f"capacity must be an object (found: {data!r})")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown or not {"cpus", "mem"} <= set(data):
            raise ValueError(f"capacity needs cpus and mem, may have agents and "
                             f"offer_interval_seconds (found: {sorted(data)})")
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
                    key == "agents" and (not isinstance(value, int) or value < 1)) or (
                    key == "offer_interval_seconds" and value <= 0):
                raise ValueError(f"capacity: {key} has a bad value (found: {value!r})")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "mem": self.mem, "agents": self.agents,
                "offer_interval_seconds": self.offer_interval_seconds}


class KnobTable:
    """Knobs for every app ("*") and per app id; per-app ones win."""

    def __init__(self, table: Mapping[str, Any] | None = None) -> None:
        self._table: dict[str, Knobs] = {}
        for key, value in (table or {}).items():
            self.set(str(key), value if isinstance(value, Knobs)
                     else Knobs.from_json(value, f"knobs for {key}"))

    def set(self, app_id: str, knobs: Knobs) -> None:
        self._table[app_id] = knobs

    def for_app(self, app_id: str) -> Knobs:
        base = self._table.get(ALL_APPS, Knobs())
        own = self._table.get(app_id)
        return own.over(base) if own else base

    def to_json(self) -> dict[str, Any]:
        return {key: knobs.to_json() for key, knobs in sorted(self._table.items())}
