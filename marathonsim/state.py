"""Marathon's app, version and deployment endpoints (docs/simulator.md, "What it implements";
Marathon's `api/v2/AppsResource.scala`, `api/v2/AppVersionsResource.scala`,
`api/v2/DeploymentsResource.scala`)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from .appdef import SERVER_FIELDS, App, merge
from .appread import read_app
from .clock import canonical_stamp, invalid_timestamp, iso_ms, parse_ms
from .engine import ImagePolicy
from .ids import canonical
from .ops import TaskOps
from .records import AppRecord
from .replies import ApiError, Reply, invalid_json, not_found_app
from .seed import past_versions, seeded_failure, version_info
from .views import app_filter, embeds, listed_tasks

__all__ = ["ImagePolicy", "Store"]


class Store(TaskOps):
    """Marathon's apps, versions and deployments endpoints over the engine's state."""

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
                rec = AppRecord({**app, "version": version, "versionInfo": info}, self._spawn,
                                self._on_kill)
                for old in past:
                    rec.remember(old)
                rec.remember(rec.app)
                rec.trim(self.max_versions, {version})  # a seeded past was collected long ago
                rec.seed_failure(seeded_failure(app["id"], entries))
                self._apps[rec.app_id] = rec
                for _ in range(app["instances"]):
                    rec.launch(now - self.deploy_seconds, version)  # ready now
            self._place(now - self.deploy_seconds)
            for rec in self._apps.values():
                for task in rec.tasks:
                    task.seen_until = now  # their story so far is not news
            self.gc.roots = max([self.gc.roots] + [len(r.history) for r in self._apps.values()])
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
        """GET /v2/apps/<group>/* lists the group's apps as {"*": [...]} (state/PathId.scala)."""
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
            return {"tasks": listed_tasks(self._record(raw_id), now)}

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
            rec = self._stored_record(raw_id)
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
            now = self._advance()
            return [d.to_json(self._readiness(d, now)) for d in self._deployments.values()]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every app as AppInfo with all embeds, keyed by id (Simulator.apps)."""
        with self.lock:
            now = self._advance()
            embed = embeds(["tasks", "lastTaskFailure", "taskStats"])
            return {rec.app_id: self._info(rec, now, embed) for rec in self._sorted()}

    # ---- writes -------------------------------------------------------------------------
    def put_app(self, raw_id: str, body: Any, *, partial: bool, force: bool,
                patch: bool = False) -> Reply:
        """PUT (and PATCH, which never creates) /v2/apps/{id} (AppsResource.replace, AppsResource.patch)."""
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
        """POST /v2/apps: 201 with the AppInfo, or 409 when the id exists (AppsResource.scala)."""
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
        """DELETE /v2/apps/{id}; force defaults to true in Marathon's code (AppsResource.scala)."""
        with self.lock:
            self._advance()
            return self._stop(self._record(raw_id), force)

    def cancel_deployment(self, deployment_id: str, *, force: bool) -> Reply:
        """DELETE /v2/deployments/{id}: revert (200) or, with force, just drop it (202)."""
        with self.lock:
            self._advance()
            dep = self._deployments.get(deployment_id)
            if dep is None:
                raise ApiError(404, {"message": f"DeploymentPlan {deployment_id} does not exist"})
            self._fail(dep, "cancelled")
            self._flush()
            rec = self._apps.get(dep.app_id)
            if force or rec is None:
                return Reply(202)
            if dep.original is None:  # the deployment created the app: the revert deletes it
                return self._stop(rec, force=True)
            before = {k: v for k, v in dep.original.items() if k not in SERVER_FIELDS}
            return self._change(rec, before, force=True)

