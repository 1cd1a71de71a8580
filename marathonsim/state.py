"""The simulated Marathon state: apps, versions, deployments and tasks behind one lock.

Every public method takes the lock and first advances deployments to the clock's now, so
state is computed lazily from start times and the clock (deterministic with a fake clock).
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .appdef import (SERVER_FIELDS, App, change_kind, has_health_checks, image_matches,
                     image_of, merge, normalize, service_ports, validate)
from .appread import read_app
from .clock import (Clock, VersionSource, canonical_stamp, invalid_timestamp, iso_ms,
                    parse_ms)
from .deploy import Deployment
from .ids import canonical
from .records import AppRecord
from .seed import past_versions, version_info
from .replies import ApiError, Reply, invalid_json, not_found_app, not_valid
from .tasks import Task
from .views import app_filter, app_info, embeds

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


class Store:
    def __init__(self, *, deploy_seconds: float, clock: Clock, policy: ImagePolicy,
                 max_running_deployments: int = 100, max_versions: int = 50) -> None:
        self.lock = threading.RLock()
        self.deploy_seconds = deploy_seconds
        self.clock = clock
        self.policy = policy
        self.max_running_deployments = max_running_deployments
        self.max_versions = max_versions
        self._apps: dict[str, AppRecord] = {}
        self._deployments: dict[str, Deployment] = {}  # running ones only
        self._versions = VersionSource(clock)
        self._used_ports: set[int] = set()
        self._next_port = 10000
        self._launched = 0

    # ---- set-up -------------------------------------------------------------------------
    def load(self, definitions: Iterable[Mapping[str, Any]],
             history: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Initial apps, already deployed: tasks running (and healthy) at their version, with
        past versions seeded from `history` (app id -> entries, see seed.py)."""
        history = {canonical(str(k)): v for k, v in (history or {}).items()}
        with self.lock:
            now = self.clock()
            for raw in definitions:
                fields = read_app(dict(raw))
                app = self._valid({**fields, "id": canonical(str(fields.get("id", "")))})
                entries = history.pop(app["id"], [])
                if not isinstance(entries, Sequence) or isinstance(entries, str):
                    raise ValueError(f"history of {app['id']}: expected a list of versions")
                past, last = past_versions(app["id"], app, entries, self._valid)
                version = self._initial_version(app["id"], fields.get("version"), past)
                info = fields.get("versionInfo") or version_info(last, app, version)
                rec = AppRecord({**app, "version": version, "versionInfo": info}, self._spawn)
                for old in past:
                    rec.remember(old, self.max_versions)
                rec.remember(rec.app, self.max_versions)
                self._apps[rec.app_id] = rec
                for _ in range(app["instances"]):
                    rec.launch(now - self.deploy_seconds, version)  # ready now
            if history:
                raise ValueError(f"history for apps that are not in the apps list: "
                                 f"{sorted(history)}")

    def _initial_version(self, app_id: str, given: Any, past: list[App]) -> str:
        """The current version: as given (any ISO spelling), else now; after its history."""
        if given is None:
            version = self._versions.next()
        else:
            try:
                version = canonical_stamp(str(given))
            except ValueError:
                raise ValueError(f"{app_id}: {invalid_timestamp(str(given))}") from None
        newest = max((parse_ms(p["version"]) for p in past), default=None)
        if newest is not None and parse_ms(version) <= newest:
            raise ValueError(f"{app_id}: the current version {version} must be later than "
                             f"every version of its history (newest: {iso_ms(newest)})")
        self._versions.seen(version)
        return version

    # ---- reads --------------------------------------------------------------------------
    def list_apps(self, query: dict[str, list[str]]) -> dict[str, Any]:
        with self.lock:
            now = self._advance()
            embed, keep = embeds(query.get("embed", [])), app_filter(query)
            return {"apps": [self._info(rec, now, embed) for rec in self._sorted()
                             if keep(rec.app)]}

    def group_apps(self, group: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """GET /v2/apps/<group>/* lists the group's apps as {"*": [...]} (section 1)."""
        with self.lock:
            now = self._advance()
            prefix = canonical(group).rstrip("/") + "/"
            found = [rec for rec in self._sorted() if rec.app_id.startswith(prefix)]
            if not found and prefix != "/":
                raise ApiError(404, {"message": f"Group '{canonical(group)}' does not exist"})
            embed = embeds(query.get("embed", []))
            return {"*": [self._info(rec, now, embed) for rec in found]}

    def get_app(self, raw_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        with self.lock:
            now = self._advance()
            rec = self._record(raw_id)
            embed = embeds(query.get("embed", []), base=("tasks", "lastTaskFailure"))
            return {"app": self._info(rec, now, embed)}

    def app_tasks(self, raw_id: str) -> dict[str, Any]:
        with self.lock:
            now = self._advance()
            return {"tasks": [task.to_json(now) for task in self._record(raw_id).tasks]}

    def versions(self, raw_id: str) -> dict[str, Any]:
        with self.lock:
            self._advance()
            history = self._record(raw_id).history
            return {"versions": sorted(history, key=parse_ms, reverse=True)}

    def version(self, raw_id: str, version: str) -> App:
        """One stored definition; the path's timestamp may be any ISO-8601 spelling
        (`api/v2/AppVersionsResource.scala` parses it with `Timestamp(version)`)."""
        with self.lock:
            self._advance()
            rec = self._record(raw_id)
            try:
                found = rec.stored(version)
            except ValueError:
                raise ApiError(422, {"message": invalid_timestamp(version)}) from None
            if found is None:
                raise ApiError(404, {"message": f"App '{rec.app_id}' does not exist in version "
                                                f"{canonical_stamp(version)}"})
            return found

    def deployments(self) -> list[dict[str, Any]]:
        with self.lock:
            self._advance()
            return [d.to_json() for d in self._deployments.values()]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every app as AppInfo with all embeds, keyed by id (Simulator.apps)."""
        with self.lock:
            now = self._advance()
            embed = embeds(["tasks", "lastTaskFailure", "taskStats"])
            return {rec.app_id: self._info(rec, now, embed) for rec in self._sorted()}

    # ---- writes -------------------------------------------------------------------------
    def put_app(self, raw_id: str, body: Any, *, partial: bool, force: bool,
                patch: bool = False) -> Reply:
        """PUT (and PATCH, which never creates) /v2/apps/{id} (sections 5 and 6)."""
        with self.lock:
            self._advance()
            app_id = canonical(raw_id)
            fields = read_app(body)
            rec = self._apps.get(app_id)
            if patch and rec is None:
                raise not_found_app(app_id)
            if partial and "version" in fields:
                return self._rollback(app_id, rec, fields, force)
            if rec is None:
                return self._create({**fields, "id": app_id}, via_put=True)
            candidate = merge(rec.app, fields) if partial else dict(fields)
            return self._change(rec, self._valid({**candidate, "id": app_id}), force)

    def create_app(self, body: Any) -> Reply:
        """POST /v2/apps: 201 with the AppInfo, or 409 when the id exists (section 6)."""
        with self.lock:
            self._advance()
            fields = read_app(body)
            if "id" not in fields:
                raise invalid_json([{"path": "/id", "errors": ["error.path.missing"]}])
            app_id = canonical(fields["id"])
            if app_id in self._apps:
                raise ApiError(409, {"message": f"An app with id [{app_id}] already exists."})
            return self._create({**fields, "id": app_id}, via_put=False)

    def restart_app(self, raw_id: str, *, force: bool) -> Reply:
        with self.lock:
            self._advance()
            rec = self._record(raw_id)
            same = {k: v for k, v in rec.app.items() if k not in SERVER_FIELDS}
            return self._change(rec, same, force, kind="restart", restart=True)

    def delete_app(self, raw_id: str, *, force: bool) -> Reply:
        """DELETE /v2/apps/{id}; force defaults to true in Marathon's code (section 6)."""
        with self.lock:
            self._advance()
            return self._stop(self._record(raw_id), force)

    def cancel_deployment(self, deployment_id: str, *, force: bool) -> Reply:
        """DELETE /v2/deployments/{id}: revert (200) or, with force, just drop it (202)."""
        with self.lock:
            self._advance()
            dep = self._deployments.pop(deployment_id, None)
            if dep is None:
                raise ApiError(404, {"message": f"DeploymentPlan {deployment_id} does not exist"})
            dep.done = True
            rec = self._apps.get(dep.app_id)
            if force or rec is None:
                return Reply(202)
            if dep.original is None:  # the deployment created the app: the revert deletes it
                return self._stop(rec, force=True)
            before = {k: v for k, v in dep.original.items() if k not in SERVER_FIELDS}
            return self._change(rec, before, force=True)

    # ---- internals ----------------------------------------------------------------------
    def _advance(self) -> float:
        now = self.clock()
        for dep in list(self._deployments.values()):
            rec = self._apps.get(dep.app_id)
            if rec is not None:
                dep.advance(rec, now)
            if rec is None or dep.done:
                del self._deployments[dep.id]
        return now

    def _sorted(self) -> list[AppRecord]:
        return [self._apps[k] for k in sorted(self._apps)]

    def _record(self, raw_id: str) -> AppRecord:
        app_id = canonical(raw_id)
        rec = self._apps.get(app_id)
        if rec is None:
            raise not_found_app(app_id)
        return rec

    def _info(self, rec: AppRecord, now: float, embed: set[str]) -> dict[str, Any]:
        ids = [d.id for d in self._deployments.values() if d.app_id == rec.app_id]
        return app_info(rec, ids, now, embed)

    def _valid(self, app: App) -> App:
        normal = normalize(app, self._allocate_port)
        validate(normal, self.policy.invalid)
        self._used_ports.update(service_ports(normal))  # explicit ones are taken too
        return normal

    def _rollback(self, app_id: str, rec: AppRecord | None, fields: App, force: bool) -> Reply:
        """`{"version": V}` deploys the stored definition V under a new version (section 5)."""
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
                                         "lastConfigChangeAt": version}}, self._spawn)
        rec.remember(rec.app, self.max_versions)
        self._apps[rec.app_id] = rec
        dep = self._start(rec, "start", None, version, now)
        headers = {"Location": f"/v2/apps{rec.app_id}", DEPLOYMENT_HEADER: dep.id}
        if via_put:
            return Reply(201, {"deploymentId": dep.id, "version": version}, headers)
        # POST answers with the AppInfo as it was before any task launched (section 6).
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
        rec.remember(stored, self.max_versions)  # stored before the lock check (section 7)
        self._take_lock(rec.app_id, force)
        original, rec.app = rec.app, stored
        return self._result(self._start(rec, kind, original, version, now))

    def _stop(self, rec: AppRecord, force: bool) -> Reply:
        version, now = self._versions.next(), self.clock()
        self._take_lock(rec.app_id, force)
        dep = self._start(rec, "stop", rec.app, version, now)
        del self._apps[rec.app_id]  # its history goes with it (section 7)
        return self._result(dep)

    def _start(self, rec: AppRecord, kind: str, original: App | None, version: str,
               now: float) -> Deployment:
        app = rec.app
        dep = Deployment(id=str(uuid.uuid4()), version=version, app_id=rec.app_id, kind=kind,
                         instances=int(app["instances"]), task_version=app["version"],
                         upgrade=app["upgradeStrategy"], kill_selection=app["killSelection"],
                         original=original)
        dep.start(rec, now)
        if not dep.done:
            self._deployments[dep.id] = dep
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
            dep.done = True
            del self._deployments[dep.id]

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
        """A new task of the app's current definition; its image decides its fault."""
        app, n = rec.app, self._launched
        self._launched += 1
        image, checks = image_of(app), has_health_checks(app)
        unhealthy = image_matches(image, self.policy.unhealthy)
        failing = image_matches(image, self.policy.failing) or (unhealthy and not checks)
        return Task(
            instance_id=f"{rec.app_id.strip('/').replace('/', '_')}.instance-{uuid.uuid4()}",
            app_id=rec.app_id, version=version, staged_at=at, cycle=self.deploy_seconds,
            health_checks=checks, fault="failing" if failing else "unhealthy" if unhealthy else "",
            max_failures=int(app.get("healthChecks", [{}])[0].get("maxConsecutiveFailures", 3)),
            host=f"10.0.{n // 250 % 250}.{n % 250 + 1}", slave_id=f"sim-agent-S{n % 3}",
            port=31000 + n % 1000, service_ports=service_ports(app))
