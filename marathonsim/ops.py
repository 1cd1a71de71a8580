"""Tasks, the launch queue and groups (docs/simulator.md, "Deployments, tasks and health" and "Capacity and the launch queue";
Marathon's `api/v2/TasksResource.scala`, `api/v2/AppTasksResource.scala`,
`api/TaskKiller.scala`, `api/v2/QueueResource.scala`, `api/v2/GroupsResource.scala`)."""
from __future__ import annotations

from typing import Any

from .appdef import SERVER_FIELDS
from .cluster import queue_entry
from .engine import Engine
from .ids import canonical
from .knobs import Capacity, Knobs
from .records import AppRecord
from .replies import ApiError, Reply
from .tasks import Task
from .views import listed_tasks

BOTH = "You cannot use scale and wipe at the same time."


class TaskOps(Engine):
    # ---- /v2/tasks ------------------------------------------------------------------
    def all_tasks(self, statuses: list[str]) -> dict[str, Any]:
        """GET /v2/tasks; `status` running or staging filters (others are ignored)."""
        wanted = {f"TASK_{s.upper()}" for s in statuses if s.lower() in ("running", "staging")}
        with self.lock:
            now = self._advance()
            tasks = [t for rec in self._sorted() for t in listed_tasks(rec, now)]
            return {"tasks": [t for t in tasks if not wanted or t["state"] in wanted]}

    def kill_app_tasks(self, raw_id: str, *, host: str | None, scale: bool, wipe: bool,
                       force: bool) -> Reply:
        """DELETE /v2/apps/{id}/tasks: kill all (or those on `host`, "*" for any)."""
        with self.lock:
            now = self._advance()
            rec = self._record(raw_id)
            chosen = [t for t in rec.tasks if not t.waiting and t.listed(now)
                      and (host is None or host in ("*", t.host))]
            return self._kill(rec, chosen, now, scale=scale, wipe=wipe, force=force)

    def kill_app_task(self, raw_id: str, task_id: str, *, scale: bool, wipe: bool,
                      force: bool) -> Reply:
        """DELETE /v2/apps/{id}/tasks/{taskId}: {"task": ...}, or 404 for an unknown id."""
        with self.lock:
            now = self._advance()
            rec = self._record(raw_id)
            chosen = [t for t in rec.tasks if t.instance_id == instance_of(task_id)]
            if not scale and not wipe and not chosen:
                raise ApiError(404, {"message": f"Task '{task_id}' does not exist"})
            reply = self._kill(rec, chosen, now, scale=scale, wipe=wipe, force=force)
            if not scale:
                reply.body = {"task": reply.body["tasks"][0]}
            return reply

    def kill_tasks(self, body: Any, *, scale: bool, wipe: bool, force: bool) -> Reply:
        """POST /v2/tasks/delete {"ids": [...]}: unknown ids are left out silently."""
        if scale and wipe:
            raise ApiError(400, {"message": BOTH})
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, {"message": 'expected {"ids": ["<task id>", ...]}'})
        for task_id in ids:
            if ".instance-" not in task_id and "." not in task_id:
                raise ApiError(400, {"message": f"Invalid task id '{task_id}'. [{task_id}]"})
        with self.lock:
            now = self._advance()
            wanted = {instance_of(i) for i in ids}
            killed: list[dict[str, Any]] = []
            last: Reply | None = None
            for rec in self._sorted():
                chosen = [t for t in rec.tasks if t.instance_id in wanted]
                if chosen:
                    last = self._kill(rec, chosen, now, scale=scale, wipe=wipe, force=force)
                    if not scale:
                        killed += last.body["tasks"]
            if scale:
                return last or Reply(200, {"deploymentId": None, "version": None})
            return Reply(200, {"tasks": killed})

    def _kill(self, rec: AppRecord, chosen: list[Task], now: float, *, scale: bool,
              wipe: bool, force: bool) -> Reply:
        """Kill instances (`api/TaskKiller.scala`): without scale Marathon launches
        replacements to keep `instances`; with scale the app is scaled down by as many."""
        if scale and wipe:
            raise ApiError(400, {"message": BOTH})
        shown = [t.to_json(now) for t in chosen]
        if scale:
            self._take_lock(rec.app_id, force)
            for task in chosen:
                rec.kill(task, now)
            new = {k: v for k, v in rec.app.items() if k not in SERVER_FIELDS}
            new["instances"] = max(0, int(new["instances"]) - len(chosen))
            return self._change(rec, new, force=True)
        for task in chosen:
            rec.kill(task, now)
            self._replace(rec, task, now)
        self._place(now)
        self._task_transitions(now)
        self._flush()
        return Reply(200, {"tasks": shown})

    def _replace(self, rec: AppRecord, killed: Task, now: float) -> None:
        """A killed instance is replaced: by its deployment if one launched it."""
        for dep in self._deployments.values():
            if dep.app_id == rec.app_id and killed.instance_id in dep.launched:
                dep.launched.discard(killed.instance_id)
                dep.pending += 1
                dep.relaunch(rec, now)
                return
        if len(rec.tasks) < int(rec.app["instances"]):
            rec.launch(now, killed.version if killed.version == rec.app["version"]
                       else rec.app["version"])

    # ---- /v2/queue --------------------------------------------------------------------
    def queue(self) -> dict[str, Any]:
        """GET /v2/queue: apps with instances waiting for room or in a launch delay."""
        with self.lock:
            now = self._advance()
            free = self.cluster.free(self._placed())
            entries = []
            for rec in self._sorted():
                waiting = [t for t in rec.tasks if t.waiting]
                delayed = [(t, since, until) for t in rec.tasks if not t.waiting
                           for since, until in [t.delay_window(now)] if until is not None]
                if waiting or delayed:
                    app = dict(rec.app)
                    entries.append(queue_entry(app, waiting, delayed, self.cluster, free, now,
                                               self.knobs.for_app(rec.app_id).decline_reason))
            return {"queue": entries}

    def reset_delay(self, raw_id: str) -> Reply:
        """DELETE /v2/queue/{id}/delay: 204; 404 when nothing of the app is queued."""
        with self.lock:
            now = self._advance()
            app_id = canonical(raw_id)
            rec = self._apps.get(app_id)
            queued = [t for t in (rec.tasks if rec else [])
                      if t.waiting or t.delay_window(now)[1] is not None]
            if rec is None or not queued:
                raise ApiError(404, {"message": f"Application {app_id} not found in tasks queue."})
            for task in rec.tasks:
                task.reset_delay(now)
                self._touch(task)
            self._task_transitions(now)
            self._flush()
            return Reply(204)

    # ---- /v2/groups -------------------------------------------------------------------
    def group(self, raw_id: str) -> dict[str, Any]:
        """GET /v2/groups[/{id}]: the group tree of app definitions."""
        with self.lock:
            self._advance()
            group_id = canonical(raw_id)
            apps = {rec.app_id: dict(rec.app) for rec in self._sorted()}
            prefix = group_id.rstrip("/") + "/"
            if group_id != "/" and not any(a.startswith(prefix) for a in apps):
                raise ApiError(404, {"message": f"Group '{group_id}' does not exist"})
            return _tree(group_id, apps, self._versions_latest())

    def _versions_latest(self) -> str:
        versions = [str(rec.app["version"]) for rec in self._apps.values()]
        return max(versions, default="1970-01-01T00:00:00.000Z")

    def poll(self) -> None:
        """Advance to now (event streams call this: time alone moves tasks)."""
        with self.lock:
            self._advance()

    # ---- knobs ------------------------------------------------------------------------
    def set_knobs(self, app_id: str, knobs: Knobs) -> None:
        with self.lock:
            self._advance()
            self.knobs.set(app_id if app_id == "*" else canonical(app_id), knobs)

    def set_capacity(self, capacity: Capacity | None) -> None:
        with self.lock:
            now = self._advance()
            self.cluster.capacity = capacity
            if capacity is None:
                for task in (t for rec in self._apps.values() for t in rec.tasks if t.waiting):
                    task.waiting, task.staged_at = False, now
                    task.seen_until = now - 1e-6
                    self._touch(task)
            self._place(now)
            self._flush()


def instance_of(task_id: str) -> str:
    """The instance id of a task id: `<app>.instance-<uuid>._app.<n>` -> `<app>.instance-<uuid>`."""
    head, sep, tail = task_id.rpartition("._app.")
    return head if sep and tail.isdigit() else task_id


def _tree(group_id: str, apps: dict[str, dict[str, Any]], version: str) -> dict[str, Any]:
    prefix = "/" if group_id == "/" else group_id + "/"
    direct = [a for i, a in apps.items() if i.startswith(prefix) and "/" not in i[len(prefix):]]
    children = sorted({prefix + i[len(prefix):].split("/", 1)[0] for i in apps
                       if i.startswith(prefix) and "/" in i[len(prefix):]})
    return {"id": group_id, "apps": direct,
            "groups": [_tree(child, apps, version) for child in children],
            "pods": [], "dependencies": [], "version": version}
