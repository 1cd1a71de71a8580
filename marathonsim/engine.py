"""The simulated Marathon state: apps, versions, deployments and tasks behind one lock.

Every public method takes the lock and first advances to the clock's now, so state is
computed lazily from start times and the clock (deterministic with a fake clock). The
engine holds the state and moves it; state.py and ops.py serve the endpoints on it.
"""
from __future__ import annotations

import heapq
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from .appdef import (SERVER_FIELDS, App, change_kind, has_health_checks, image_matches,
                     image_of, normalize, service_ports, validate)
from .clock import Clock, VersionSource
from .cluster import Cluster, agent_id
from .deploy import Deployment
from .gc import DEFAULT_INTERVAL, Collector
from .ids import canonical
from .knobs import DEFAULT_FAILURE_MESSAGE, Capacity, KnobTable
from .records import AppRecord
from .replies import ApiError, Reply, invalid_json, not_found_app, not_valid
from .seed import version_info
from .profile import Profile
from .tasks import Task
from .timeline import Timeline
from .views import app_info

VERSION_ONLY = "The 'version' field may only be combined with the 'id' field."
LOCKED = ("App is locked by one or more deployments. Override with the option '?force=true'. "
          "View details at '/v2/deployments/<DEPLOYMENT_ID>'.")
DEPLOYMENT_HEADER = "Marathon-Deployment-Id"


def too_many_deployments(limit: int) -> str:
    return (f"Max number ({limit}) of running deployments is achieved. Wait for existing "
            "deployments to complete or cancel oneusing force=true parameter. You can increase "
            "max deployment number by using --max_running_deployments parameter but be advised "
            "that this can have negative effects on the performance.")


@dataclass
class ImagePolicy:
    """fnmatch globs on the full image string; changeable at run time (control API)."""

    unhealthy: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


class Engine(Timeline):
    """The state and how it moves: deployments, placement, tasks (events in Timeline)."""

    def __init__(self, *, deploy_seconds: float, clock: Clock, policy: ImagePolicy,
                 max_running_deployments: int = 100, max_versions: int = 50,
                 capacity: Capacity | None = None, knobs: KnobTable | None = None,
                 gc_interval: float = DEFAULT_INTERVAL) -> None:
        self.lock = threading.RLock()
        self.cluster = Cluster(capacity)
        self.knobs = knobs or KnobTable()
        super().__init__()
        self.deploy_seconds = deploy_seconds
        self.clock = clock
        self.policy = policy
        self.max_running_deployments = max_running_deployments
        self.max_versions = max_versions
        self.gc = Collector(max_versions, gc_interval)
        self._apps: dict[str, AppRecord] = {}
        self._deployments: dict[str, Deployment] = {}  # running ones only
        self._versions = VersionSource(clock)
        self._used_ports: set[int] = set()
        self._next_port = 10000
        self._launched = 0

    # ---- internals ----------------------------------------------------------------------
    def _advance(self) -> float:
        """Replay every moment up to now, oldest first, across all apps: a task of a
        deployment becoming ready, a killed task gone (its room freed); after each, waiting
        instances take the room there is."""
        now = self.clock()
        heap = self._moments(now)
        while heap:
            at, _, dep_id = heapq.heappop(heap)
            dep = self._deployments.get(dep_id) if dep_id else None
            rec = self._apps.get(dep.app_id) if dep is not None else None
            if dep_id and (dep is None or rec is None or dep.next_event(rec) != at):
                continue  # stale: that deployment moved on or ended
            if dep is not None and rec is not None:
                self._task_transitions(at, rec.shown())  # what its tasks went through first
                dep.step(rec, at)
                for task in rec.killing:  # killed just now: their end is a moment too
                    end = (task.killed_at or 0.0) + task.profile.kill_grace
                    if task.killed_at == at and end <= now:
                        heapq.heappush(heap, (end, next(self._seq), ""))
                if dep.done:
                    self._finish(dep, at)
                else:
                    self._push(heap, dep, now)
            freed = self._purge(at)
            if self._place(at) or freed:
                heap = self._moments(now)  # room changed: other apps' tasks may move
        for dep in list(self._deployments.values()):
            if dep.app_id not in self._apps or dep.done:
                del self._deployments[dep.id]
        self._task_transitions(now)
        self._flush()
        return now

    def _moments(self, now: float) -> list[tuple[float, int, str]]:
        """A heap of what happens up to now: deployments' next ready task, kills ending."""
        heap: list[tuple[float, int, str]] = []
        for dep in self._deployments.values():
            self._push(heap, dep, now)
        for app_id in list(self._killing):
            rec = self._apps.get(app_id)
            for task in rec.killing if rec else []:
                at = (task.killed_at or 0.0) + task.profile.kill_grace
                if at <= now:
                    heapq.heappush(heap, (at, next(self._seq), ""))
        return heap

    def _push(self, heap: list[tuple[float, int, str]], dep: Deployment, now: float) -> None:
        rec = self._apps.get(dep.app_id)
        at = dep.next_event(rec) if rec is not None else None
        if at is not None and at <= now:
            heapq.heappush(heap, (at, next(self._seq), dep.id))

    def _purge(self, at: float) -> bool:
        """Killed tasks whose grace period is over are gone (TASK_KILLED)."""
        freed = False
        for app_id in list(self._killing):
            rec = self._apps.get(app_id)
            for task in rec.purge(at) if rec else []:
                self._task_event(task, "TASK_KILLED", at)
                freed = True
            if rec is None or not rec.killing:
                self._killing.discard(app_id)
        return freed

    def _finish(self, dep: Deployment, at: float) -> None:
        """A deployment whose last step is done: step success, then success; it asks for a GC pass."""
        self._deployments.pop(dep.id, None)
        self._collect(at)
        if dep.actions:
            plan = dep.plan_json()
            self._emit(at, "deployment_step_success", plan=plan,
                       currentStep=plan["steps"][-1])
            self._emit(at, "deployment_success", id=dep.id, plan=plan)

    def _collect(self, at: float) -> None:
        """A storage GC pass, unless the collector rests (marathonsim/gc.py)."""
        in_use: dict[str, set[str]] = {}
        for rec in self._apps.values():
            in_use.setdefault(rec.app_id, set()).add(str(rec.app["version"]))
        for dep in self._deployments.values():
            in_use.setdefault(dep.app_id, set()).update(
                {dep.version, str((dep.original or {}).get("version", dep.version))})
        self.gc.run(at, self._apps.values(), in_use)

    def _place(self, at: float) -> bool:
        """Waiting instances, oldest first, go to the first agent with room; True if any did."""
        if self.cluster.capacity is None:
            return False
        waiting = sorted((t for rec in self._apps.values() for t in rec.tasks if t.waiting),
                         key=lambda t: t.queued_at)
        if not waiting:
            return False
        placed = False
        free = self.cluster.free(self._placed())
        for task in waiting:
            if self.knobs.for_app(task.app_id).decline_reason:
                continue
            index = self.cluster.place(task, free)
            if index is None:
                continue
            task.waiting, task.staged_at, task.slave_id = False, at, agent_id(index)
            task.seen_until = at - 1e-6
            self._touch(task)
            cpus, mem = free[index]
            free[index] = (cpus - task.cpus, mem - task.mem)
            placed = True
        return placed

    def _placed(self) -> list[Task]:
        return [t for rec in self._apps.values() for t in rec.shown() if not t.waiting]

    def _sorted(self) -> list[AppRecord]:
        return [self._apps[k] for k in sorted(self._apps)]

    def _record(self, raw_id: str) -> AppRecord:
        app_id = canonical(raw_id)
        rec = self._apps.get(app_id)
        if rec is None:
            raise not_found_app(app_id)
        return rec

    def _stored_record(self, raw_id: str) -> AppRecord:
        """The app, or a deleted one whose versions the GC has not collected yet: Marathon serves
        `GET /v2/apps/{id}/versions/{ts}` from storage (`AppVersionsResource.show`)."""
        app_id = canonical(raw_id)
        grave = self.gc.grave(app_id)
        if app_id in self._apps or grave is None:
            return self._record(raw_id)
        ghost = AppRecord({"id": app_id}, self._spawn)
        ghost.history = grave
        return ghost

    def _info(self, rec: AppRecord, now: float, embed: set[str]) -> dict[str, Any]:
        deps = [d for d in self._deployments.values() if d.app_id == rec.app_id]
        readiness = [r for d in deps for r in self._readiness(d, now)]
        return app_info(rec, [d.id for d in deps], now, embed, readiness)

    def _readiness(self, dep: Deployment, now: float) -> list[dict[str, Any]]:
        rec = self._apps.get(dep.app_id)
        return dep.readiness(rec, now) if rec is not None else []

    def _valid(self, app: App) -> App:
        normal = normalize(app, self._allocate_port)
        validate(normal, self.policy.invalid)
        self._used_ports.update(service_ports(normal))  # explicit ones are taken too
        return normal

    def _rollback(self, app_id: str, rec: AppRecord | None, fields: App, force: bool) -> Reply:
        """`{"version": V}` deploys the stored definition V under a new version (AppsResource.replace)."""
        if set(fields) - {"version", "id"}:
            raise not_valid([{"path": "/", "errors": [VERSION_ONLY]}])
        try:
            old = rec.stored(str(fields["version"])) if rec is not None else None
        except ValueError:
            raise invalid_json([{"path": "/version",
                                 "errors": ["error.expected.date.isoformat"]}]) from None
        if rec is None or old is None:
            raise not_found_app(app_id)
        return self._change(rec, {k: v for k, v in old.items() if k not in SERVER_FIELDS}, force)

    def _create(self, fields: App, *, via_put: bool) -> Reply:
        app = self._valid(fields)
        self._check_deployment_cap()
        version, now = self._versions.next(), self.clock()
        rec = AppRecord({**app, "version": version,
                         "versionInfo": {"lastScalingAt": version,
                                         "lastConfigChangeAt": version}}, self._spawn,
                       self._on_kill)
        rec.history = self.gc.revive(rec.app_id)  # a deleted app's versions, not collected yet
        rec.remember(rec.app)
        self.gc.stored()
        self._apps[rec.app_id] = rec
        dep = self._start(rec, "start", None, version, now)
        headers = {"Location": f"/v2/apps{rec.app_id}", DEPLOYMENT_HEADER: dep.id}
        if via_put:
            return Reply(201, {"deploymentId": dep.id, "version": version}, headers)
        # POST answers with the AppInfo as it was before any task launched (AppsResource.scala).
        info = {**rec.app, "tasksStaged": 0, "tasksRunning": 0, "tasksHealthy": 0,
                "tasksUnhealthy": 0, "deployments": [{"id": dep.id}]}
        return Reply(201, info, headers)

    def _change(self, rec: AppRecord, new: App, force: bool, kind: str | None = None,
                restart: bool = False) -> Reply:
        kind = kind or change_kind(rec.app, new)
        version, now = self._versions.next(), self.clock()
        if kind == "none":  # no steps, so nothing to lock; the plan finishes at once
            return self._result(self._start(rec, "none", rec.app, version, now))
        self._check_deployment_cap()
        info = version_info(rec.app, new, version, restart)
        stored = {**new, "version": version, "versionInfo": info}
        rec.remember(stored)  # stored before the lock check (AppVersionsResource.scala)
        self.gc.stored()
        self._take_lock(rec.app_id, force)
        original, rec.app = rec.app, stored
        return self._result(self._start(rec, kind, original, version, now))

    def _stop(self, rec: AppRecord, force: bool) -> Reply:
        version, now = self._versions.next(), self.clock()
        self._take_lock(rec.app_id, force)
        dep = self._start(rec, "stop", rec.app, version, now)
        del self._apps[rec.app_id]
        self.gc.deleted(rec.app_id, rec.history)  # its versions stay stored until a GC pass
        return self._result(dep)

    def _start(self, rec: AppRecord, kind: str, original: App | None, version: str,
               now: float) -> Deployment:
        app = rec.app
        dep = Deployment(id=str(uuid.uuid4()), version=version, app_id=rec.app_id, kind=kind,
                         instances=int(app["instances"]), task_version=app["version"],
                         upgrade=app["upgradeStrategy"], kill_selection=app["killSelection"],
                         original=original)
        plan = dep.plan_json()
        for number, step in enumerate(plan["steps"], start=1):
            self._emit(now, "deployment_info", plan=plan, currentStep=step)
            if number < dep.current_step:  # StartApplication is over at once
                self._emit(now, "deployment_step_success", plan=plan, currentStep=step)
            if number >= dep.current_step:
                break
        dep.start(rec, now)
        if dep.done:
            self._finish(dep, now)
        else:
            self._deployments[dep.id] = dep
        self._place(now)
        self._task_transitions(now, rec.shown())
        self._flush()
        return dep

    @staticmethod
    def _result(dep: Deployment) -> Reply:
        return Reply(200, {"deploymentId": dep.id, "version": dep.version},
                     {DEPLOYMENT_HEADER: dep.id})

    def _take_lock(self, app_id: str, force: bool) -> None:
        """409 while a deployment holds the app; force cancels it without rollback."""
        holding = [d for d in self._deployments.values() if d.app_id == app_id]
        if holding and not force:
            raise ApiError(409, {"message": LOCKED, "deployments": [{"id": d.id} for d in holding]})
        for dep in holding:
            self._fail(dep, "cancelled by a forced change")

    def _fail(self, dep: Deployment, reason: str) -> None:
        """A deployment cancelled or overridden: deployment_failed (DeploymentManagerActor)."""
        dep.done = True
        self._deployments.pop(dep.id, None)
        self._emit(self.clock(), "deployment_failed", id=dep.id, plan=dep.plan_json(),
                   reason=reason)

    def _check_deployment_cap(self) -> None:
        """--max_running_deployments: 403 with `TooManyRunningDeploymentsException`'s text,
        verbatim (`src/main/scala/mesosphere/marathon/Exception.scala`; it really says
        "cancel oneusing")."""
        limit = self.max_running_deployments
        if len(self._deployments) >= limit:
            raise ApiError(403, {"message": too_many_deployments(limit)})

    def _allocate_port(self) -> int:
        while self._next_port in self._used_ports:
            self._next_port += 1
        self._used_ports.add(self._next_port)
        return self._next_port

    def _spawn(self, rec: AppRecord, at: float, version: str) -> Task:
        """A new instance of the app's current definition; its image and the knobs decide
        its fate; without room it waits in the launch queue."""
        app, n = rec.app, self._launched
        self._launched += 1
        knobs = self.knobs.for_app(rec.app_id)
        image, checks = image_of(app), has_health_checks(app)
        unhealthy = image_matches(image, self.policy.unhealthy)
        failing = (image_matches(image, self.policy.failing) or (unhealthy and not checks)
                   or knobs.launch_failure is not None)
        check = app.get("healthChecks", [{}])[0] if checks else {}
        profile = Profile(
            cycle=self.deploy_seconds, health_checks=checks,
            fault="failing" if failing else "unhealthy" if unhealthy else "",
            failure_message=knobs.launch_failure or knobs.failure_message
            or DEFAULT_FAILURE_MESSAGE,
            first_success=knobs.health_delay_seconds,
            grace=float(check.get("gracePeriodSeconds", 300)) if knobs.health_grace else 0.0,
            interval=float(check.get("intervalSeconds", 60)),
            max_failures=int(check.get("maxConsecutiveFailures", 3)),
            kill_grace=float(app.get("taskKillGracePeriodSeconds") or 0),
            readiness=bool(app.get("readinessChecks")), readiness_checks=readiness_checks(app),
            ready_after=knobs.ready_delay_seconds,
            never_ready=knobs.never_ready,
            backoff=float(app.get("backoffSeconds", 1)) if knobs.launch_backoff else 0.0,
            factor=float(app.get("backoffFactor", 1.15)),
            max_delay=float(app.get("maxLaunchDelaySeconds", 300)))
        task = Task(
            instance_id=f"{rec.app_id.strip('/').replace('/', '_')}.instance-{uuid.uuid4()}",
            app_id=rec.app_id, version=version, staged_at=at, profile=profile,
            host=f"10.0.{n // 250 % 250}.{n % 250 + 1}",
            slave_id=agent_id(n % self.cluster.agents()), port=31000 + n % 1000,
            cpus=float(app.get("cpus", 1)), mem=float(app.get("mem", 128)),
            service_ports=service_ports(app), seen_until=at - 1e-6)
        if self.cluster.capacity is not None:
            task.waiting, task.queued_at = True, at
            self._place_one(task, at)
        self._touch(task)
        return task

    def _place_one(self, task: Task, at: float) -> None:
        if self.knobs.for_app(task.app_id).decline_reason:
            return
        free = self.cluster.free(self._placed())
        index = self.cluster.place(task, free)
        if index is not None:
            task.waiting, task.staged_at, task.slave_id = False, at, agent_id(index)


def readiness_checks(app: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    """(name, preserveLastResponse) per readiness check; Marathon's defaults are "readinessCheck"
    and false (`core/readiness/ReadinessCheck.scala`, `types/readinessCheck.raml`)."""
    checks = app.get("readinessChecks") or []
    return tuple((str(c.get("name") or "readinessCheck"), c.get("preserveLastResponse") is True)
                 for c in checks if isinstance(c, dict))
