"""How one simulated task's incarnations unfold (Profile, fixed at launch) and where one is at a time (Phase).

A leaf: tasks.py and failures.py both read these (docs/simulator.md, "Deployments, tasks and health").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

MIN_CYCLE = 0.01  # keeps incarnation arithmetic finite when deploy_seconds is 0
NEVER = math.inf


@dataclass(frozen=True)
class Profile:
    """How one task's incarnations unfold, fixed at launch."""

    cycle: float  # deploy_seconds
    health_checks: bool
    fault: str = ""  # "", "unhealthy" (checks never pass) or "failing" (never runs)
    failure_message: str = "Container exited with status 1"
    first_success: float | None = None  # seconds after running; None: c/2 (the first check)
    grace: float = 300.0
    interval: float = 60.0
    max_failures: int = 3
    kill_grace: float = 0.0  # taskKillGracePeriodSeconds
    readiness: bool = False
    # (name, preserveLastResponse) of each of the app's readiness checks, in the app's order
    readiness_checks: tuple[tuple[str, bool], ...] = ()
    ready_after: float | None = None  # seconds after running; None: when healthy/running
    never_ready: bool = False
    backoff: float = 1.0
    factor: float = 1.15
    max_delay: float = 300.0

    @property
    def half(self) -> float:
        return (max(self.cycle, MIN_CYCLE) if self.fault else self.cycle) / 2

    @property
    def running_after(self) -> float:
        return self.half if (self.health_checks or self.fault) else self.cycle

    @property
    def first_check(self) -> float:
        """Offset of the first health check after running (today's c/2 timing)."""
        return self.half

    def tick(self, k: int) -> float:
        return self.first_check + k * max(self.interval, MIN_CYCLE)

    @cached_property
    def success_tick(self) -> int | None:
        """Index of the first passing check, None if no check passes."""
        if self.fault:
            return None
        wanted = self.first_check if self.first_success is None else self.first_success
        step = max(self.interval, MIN_CYCLE)
        return max(0, math.ceil((wanted - self.first_check) / step - 1e-9))

    @cached_property
    def kill_tick(self) -> int | None:
        """Index of the check that kills the incarnation, None if none does."""
        if not self.health_checks or self.fault == "failing" or self.max_failures <= 0:
            return None
        step = max(self.interval, MIN_CYCLE)
        counted = max(0, math.ceil((self.grace - self.first_check) / step - 1e-9))
        kill = counted + self.max_failures - 1
        success = self.success_tick
        return None if success is not None and success <= kill else kill

    @cached_property
    def life(self) -> float:
        """Seconds an incarnation lasts until it is gone (NEVER for a good one)."""
        if self.fault == "failing":
            return self.half
        kill = self.kill_tick
        if kill is None:
            return NEVER
        return self.running_after + self.tick(kill) + self.kill_grace

    def delay(self, n: int) -> float:
        """Launch delay after the n-th incarnation ended (n from 1)."""
        if self.backoff <= 0:
            return 0.0
        return min(self.backoff * self.factor ** (n - 1), self.max_delay)


@dataclass
class Phase:
    """Where an instance is at time t."""

    n: int  # incarnation number, from 1
    start: float  # when it staged
    delayed_until: float | None = None  # in the launch delay after incarnation n
