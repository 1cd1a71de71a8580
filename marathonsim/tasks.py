"""Simulated tasks. A task's state at time t is computed from its launch time, so reads are
pure and the timeline does not depend on how often a client polls (docs/simulator.md,
"Deployments, tasks and health").

One Task is one Marathon instance: it may go through several incarnations (`._app.1`,
`._app.2`, ...) when it fails or is killed for failed health checks. Each incarnation:
- stages for `running_after` seconds (c/2 with health checks or a fault, c without checks,
  c = deploy_seconds), then runs;
- with health checks, is checked at `running + first_check + k * intervalSeconds`. A check
  fails until the first success; with the health_grace knob, failures before the first
  success and within gracePeriodSeconds of running are ignored (the instance reads "not
  alive", 0 consecutive failures), later ones count; at maxConsecutiveFailures counted
  failures the incarnation is killed (`core/health/impl/HealthCheckActor.scala`: `ignoreFailures`,
  `checkConsecutiveFailures`);
- a killed incarnation is TASK_KILLING for taskKillGracePeriodSeconds, then gone;
- a failing one (bad image, launch failure) stages c/2 and ends TASK_FAILED;
- the next incarnation starts at once, or with the launch_backoff knob after a launch delay
  of backoffSeconds * backoffFactor^(n-1), capped at maxLaunchDelaySeconds (`core/launchqueue/impl/RateLimiter.scala`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .clock import iso
from .failures import last_failure
from .profile import MIN_CYCLE, NEVER, Phase, Profile

@dataclass
class Task:
    instance_id: str  # "<app_id with _>.instance-<uuid>"; Marathon task id adds "._app.<n>"
    app_id: str
    version: str  # the app version the task was launched for
    staged_at: float
    profile: Profile
    host: str
    slave_id: str
    port: int
    cpus: float = 0.0
    mem: float = 0.0
    service_ports: list[int] = field(default_factory=list)
    waiting: bool = False  # in the launch queue: no room for it yet
    queued_at: float = 0.0
    killed_at: float | None = None  # killed by a deployment or a client: TASK_KILLING
    base: int = 0  # incarnations before the last backoff reset
    earlier_failure: dict[str, Any] | None = None  # lastTaskFailure before that reset
    seen_until: float = 0.0  # events were emitted up to here
    next_change: float = -math.inf  # the next transition after seen_until, once known
    _ready_key: tuple[bool, float, float | None] | None = field(default=None, repr=False)
    _ready: float | None = field(default=None, repr=False)

    # ---- timeline ------------------------------------------------------------------------
    @property
    def fault(self) -> str:
        return self.profile.fault

    def phase(self, t: float) -> Phase:
        p = self.profile
        life = p.life
        n, start = 1, self.staged_at
        if life == NEVER:
            return Phase(self.base + 1, start)
        while True:
            end = start + life
            if t < end:
                return Phase(self.base + n, start)
            delay = p.delay(n)
            if t < end + delay:
                return Phase(self.base + n, start, delayed_until=end + delay)
            if delay >= p.max_delay or p.factor <= 1 or delay == 0.0:
                period = life + delay  # constant from here on: skip ahead
                skip = max(0, math.floor((t - end - delay) / max(period, MIN_CYCLE)))
                n, start = n + 1 + skip, end + delay + skip * period
                if t < start + life:
                    return Phase(self.base + n, start)
                return Phase(self.base + n, start, delayed_until=start + life + delay)
            n, start = n + 1, end + delay

    def ready_at(self) -> float | None:
        """When a deployment may count this task: running, healthy if checked, ready if it
        has readiness checks. None when it never gets there."""
        key = (self.waiting, self.staged_at, self.killed_at)
        if self._ready_key != key:
            self._ready_key, self._ready = key, self._compute_ready_at()
        return self._ready

    def _compute_ready_at(self) -> float | None:
        p = self.profile
        if self.waiting or p.fault or self.killed_at is not None:
            return None
        at = self.staged_at + p.running_after
        if p.health_checks:
            success = p.success_tick
            if success is None or p.kill_tick is not None:
                return None
            at += p.tick(success)
        if p.readiness:
            if p.never_ready:
                return None
            if p.ready_after is not None:
                at = max(at, self.staged_at + p.running_after + p.ready_after)
        return at

    def delay_window(self, t: float) -> tuple[float, float | None]:
        """(since, until) of the launch delay the instance is in at t; until None if none."""
        if self.waiting:
            return t, None
        phase = self.phase(t)
        if phase.delayed_until is None:
            return t, None
        return phase.start + self.profile.life, phase.delayed_until

    def listed(self, t: float) -> bool:
        """Is there a Mesos task to show (not waiting, not in a launch delay)?"""
        return not self.waiting and self.phase(t).delayed_until is None

    def state(self, t: float) -> str:
        """TASK_STAGING, TASK_RUNNING or TASK_KILLING; "" when not listed."""
        if self.waiting:
            return ""
        phase = self.phase(t)
        if phase.delayed_until is not None:
            return ""
        if self.killed_at is not None and t >= self.killed_at:
            return "TASK_KILLING"
        p = self.profile
        if p.fault == "failing":
            return "TASK_STAGING"
        since = t - phase.start
        if since < p.running_after:
            return "TASK_STAGING"
        kill = p.kill_tick
        if kill is not None and since >= p.running_after + p.tick(kill):
            return "TASK_KILLING"
        return "TASK_RUNNING"

    def health(self, t: float) -> bool | None:
        """True/False when health results exist, None when there are none (yet)."""
        results = self.health_results(t)
        return None if not results else all(r["alive"] for r in results)

    def health_results(self, t: float) -> list[dict[str, Any]]:
        p = self.profile
        if not p.health_checks or self.state(t) not in ("TASK_RUNNING", "TASK_KILLING"):
            return []
        phase = self.phase(t)
        running = phase.start + p.running_after
        since = t - running
        if since < p.first_check:
            return []  # no check has run yet
        done = math.floor((since - p.first_check) / max(p.interval, MIN_CYCLE) + 1e-9)
        kill = p.kill_tick
        if kill is not None:
            done = min(done, kill)
        success = p.success_tick
        result: dict[str, Any] = {"instanceId": self.instance_id}
        if success is not None and done >= success:
            result.update(alive=True, consecutiveFailures=0,
                          firstSuccess=iso(running + p.tick(success)),
                          lastSuccess=iso(running + p.tick(done)))
            return [result]
        # Every check so far failed; those within the grace period were ignored.
        failures = sum(1 for k in range(done + 1) if p.tick(k) >= p.grace)
        result.update(alive=False, consecutiveFailures=failures)
        if failures:
            result.update(lastFailure=iso(running + p.tick(done)),
                          lastFailureCause="Connection refused")
        return [result]

    def in_grace(self, t: float) -> bool:
        """Running, no passing check yet, still within gracePeriodSeconds."""
        p = self.profile
        if not p.health_checks or self.state(t) != "TASK_RUNNING" or self.health(t):
            return False
        return t - (self.phase(t).start + p.running_after) < p.grace

    def readiness_results(self, t: float) -> list[dict[str, Any]]:
        """TaskReadinessCheckResults of a running task: one per readiness check of the app, named
        as the check is (`core/readiness/ReadinessCheckExecutor.scala`, `checkName = checkDef.name`);
        `lastResponse` only where the check sets preserveLastResponse (`ReadinessCheckResult.scala`)."""
        if not self.profile.readiness or self.state(t) != "TASK_RUNNING":
            return []
        ready_at = self.ready_at()
        ready = ready_at is not None and t >= ready_at
        results = []
        for name, preserve in self.profile.readiness_checks or (("readinessCheck", False),):
            result: dict[str, Any] = {"name": name, "taskId": self.task_id(t), "ready": ready}
            if preserve:
                result["lastResponse"] = {"status": 200 if ready else 503, "contentType": "text/plain",
                                          "body": "ready" if ready else "not ready"}
            results.append(result)
        return results

    def last_failure(self, t: float) -> dict[str, Any] | None:
        """lastTaskFailure as this instance would make it by ``t`` (marathonsim/failures.py)."""
        return last_failure(self, t)

    def reset_delay(self, t: float) -> None:
        """DELETE /v2/queue/{app}/delay: launch now, and the backoff starts over."""
        if self.waiting or self.profile.life == NEVER:
            return
        self.earlier_failure = self.last_failure(t)
        self.next_change = -math.inf
        phase = self.phase(t)
        if phase.delayed_until is not None:
            self.base, self.staged_at = phase.n, t
        else:
            self.base, self.staged_at = phase.n - 1, phase.start

    def transitions(self, t0: float, t1: float) -> list[tuple[float, str]]:
        """What happened to this instance in (t0, t1], oldest first: Mesos states
        (TASK_STAGING, TASK_RUNNING, TASK_FAILED, TASK_KILLING, TASK_KILLED) and health
        changes ("healthy", "unhealthy", "health-kill")."""
        if self.waiting:
            return []
        if t1 < self.next_change:
            return []  # nothing happens before then: most reads of a settled fleet stop here
        p, found = self.profile, []
        upcoming = NEVER
        phase = self.phase(max(t0, self.staged_at))
        start, local = phase.start, phase.n - self.base
        for _ in range(200):  # a bound, in case a tiny cycle fits many incarnations
            if start > t1:
                upcoming = min(upcoming, start)
                break
            marks: list[tuple[float, str]] = [(start, "TASK_STAGING")]
            running = start + p.running_after
            if p.fault == "failing":
                marks.append((start + p.half, "TASK_FAILED"))
            else:
                marks.append((running, "TASK_RUNNING"))
                success, kill = p.success_tick, p.kill_tick
                if p.health_checks and kill is not None:
                    marks += [(running + p.tick(0), "unhealthy"),
                              (running + p.tick(kill), "health-kill"),
                              (running + p.tick(kill), "TASK_KILLING"),
                              (running + p.tick(kill) + p.kill_grace, "TASK_KILLED")]
                elif p.health_checks and success is not None:
                    if success > 0:
                        marks.append((running + p.tick(0), "unhealthy"))
                    marks.append((running + p.tick(success), "healthy"))
            stop = self.killed_at if self.killed_at is not None else NEVER
            found += [(at, kind) for at, kind in marks if t0 < at <= t1 and at < stop]
            upcoming = min([upcoming] + [at for at, _ in marks if at > t1 and at < stop])
            if p.life == NEVER:
                break
            start, local = start + p.life + p.delay(local), local + 1
        self.next_change = upcoming
        return found

    def task_id(self, t: float) -> str:
        return f"{self.instance_id}._app.{self.phase(t).n}"

    def to_json(self, t: float) -> dict[str, Any]:
        phase = self.phase(t)
        state = self.state(t)
        task: dict[str, Any] = {
            "id": f"{self.instance_id}._app.{phase.n}", "appId": self.app_id,
            "host": self.host, "slaveId": self.slave_id, "state": state, "ports": [self.port],
            "servicePorts": list(self.service_ports),
            "ipAddresses": [{"ipAddress": self.host, "protocol": "IPv4"}],
            "stagedAt": iso(phase.start), "version": self.version, "localVolumes": [],
            "role": "*",
        }
        if state in ("TASK_RUNNING", "TASK_KILLING") and (
                self.fault != "failing" and t >= phase.start + self.profile.running_after):
            task["startedAt"] = iso(phase.start + self.profile.running_after)
        results = self.health_results(t)
        if results:
            task["healthCheckResults"] = results
        return task


def counts(tasks: list[Task], t: float) -> dict[str, int]:
    """tasksStaged/Running/Healthy/Unhealthy over listed tasks, old and new
    (`core/appinfo/impl/TaskForStatistics.scala`: scheduled instances are left out)."""
    listed = [task for task in tasks if task.listed(t)]
    states = [task.state(t) for task in listed]
    health = [task.health(t) for task in listed]
    return {"tasksStaged": states.count("TASK_STAGING"),
            "tasksRunning": states.count("TASK_RUNNING"),
            "tasksHealthy": health.count(True), "tasksUnhealthy": health.count(False)}
