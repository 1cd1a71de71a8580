"""Marathon's /v2 endpoints and /ping: a route table from (method, path pattern) to handlers."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from .context import Context
from .replies import ApiError, Reply, invalid_json

MARATHON_VERSION = "1.11.0"
Query = dict[str, list[str]]


@dataclass
class Request:
    method: str
    path: str  # the Marathon path (DC/OS prefix removed)
    query: Query
    raw: bytes
    accept: str
    params: dict[str, str]

    def flag(self, name: str, default: bool) -> bool:
        """Boolean query parameter as JAX-RS reads it: 'true' in any case is true."""
        values = self.query.get(name)
        return default if not values else values[-1].lower() == "true"

    def json(self) -> Any:
        """The body; unparseable JSON is 400 with a string `details` (MarathonExceptionMapper.scala)."""
        try:
            return json.loads(self.raw or b"")
        except ValueError as exc:
            raise invalid_json(str(exc), status=400) from None


Handler = Callable[[Context, Request], Reply]


def _ping(ctx: Context, req: Request) -> Reply:
    """text/plain 'pong', the JSON string for application/json, 204 otherwise
    (`api/SystemResource.scala`)."""
    accept = req.accept or "*/*"
    if any(t in accept for t in ("text/plain", "text/*", "*/*")):
        return Reply(200, "pong", content_type="text/plain")
    if "application/json" in accept:
        return Reply(200, '"pong"')
    return Reply(204)


def _info(ctx: Context, req: Request) -> Reply:
    port = int(ctx.leader.rsplit(":", 1)[1])
    return Reply(200, {
        "name": "marathon", "version": MARATHON_VERSION, "buildref": "marathonsim",
        "elected": True, "leader": ctx.leader,
        "frameworkId": "marathonsim-0000-0000-0000-000000000000-0000",
        # No max_running_deployments: InfoResource lists no such key (the cap shows only
        # in the 403's message).
        "marathon_config": {"hostname": ctx.leader.rsplit(":", 1)[0],
                            "framework_name": "marathon", "features": [],
                            "webui_url": f"{ctx.scheme}://{ctx.leader}"},
        "zookeeper_config": {"zk": "zk://localhost:2181/marathon",
                             "zk_max_versions": ctx.store.max_versions},
        "http_config": {"http_port": port if ctx.scheme == "http" else 8080,
                        "https_port": port if ctx.scheme == "https" else 8443}})


def _leader(ctx: Context, req: Request) -> Reply:
    return Reply(200, {"leader": ctx.leader})


def _list_apps(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.list_apps(req.query))


def _create_app(ctx: Context, req: Request) -> Reply:
    return ctx.store.create_app(req.json())


def _group_apps(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.group_apps(req.params["id"], req.query))


def _get_app(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.get_app(req.params["id"], req.query))


def _put_app(ctx: Context, req: Request) -> Reply:
    return ctx.store.put_app(req.params["id"], req.json(),
                             partial=req.flag("partialUpdate", True),
                             force=req.flag("force", False))


def _patch_app(ctx: Context, req: Request) -> Reply:
    return ctx.store.put_app(req.params["id"], req.json(), partial=True,
                             force=req.flag("force", False), patch=True)


def _delete_app(ctx: Context, req: Request) -> Reply:
    return ctx.store.delete_app(req.params["id"], force=req.flag("force", True))


def _restart_app(ctx: Context, req: Request) -> Reply:
    return ctx.store.restart_app(req.params["id"], force=req.flag("force", False))


def _app_tasks(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.app_tasks(req.params["id"]))


def _kill_app_tasks(ctx: Context, req: Request) -> Reply:
    host = req.query.get("host", [None])[-1]
    return ctx.store.kill_app_tasks(req.params["id"], host=host, **_kill_flags(req))


def _kill_app_task(ctx: Context, req: Request) -> Reply:
    return ctx.store.kill_app_task(req.params["id"], req.params["task"], **_kill_flags(req))


def _kill_flags(req: Request) -> dict[str, bool]:
    return {"scale": req.flag("scale", False), "wipe": req.flag("wipe", False),
            "force": req.flag("force", False)}


def _all_tasks(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.all_tasks(req.query.get("status", [])
                                          + req.query.get("status[]", [])))


def _delete_tasks(ctx: Context, req: Request) -> Reply:
    return ctx.store.kill_tasks(req.json(), **_kill_flags(req))


def _queue(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.queue())


def _reset_delay(ctx: Context, req: Request) -> Reply:
    return ctx.store.reset_delay(req.params["id"])


def _groups(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.group(req.params.get("id", "/")))


def _events(ctx: Context, req: Request) -> Reply:
    raise AssertionError("the server streams /v2/events itself")  # see server.Handler


def _versions(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.versions(req.params["id"]))


def _version(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.version(req.params["id"], req.params["version"]))


def _deployments(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.store.deployments())


def _cancel_deployment(ctx: Context, req: Request) -> Reply:
    return ctx.store.cancel_deployment(req.params["id"], force=req.flag("force", False))


def _not_implemented(ctx: Context, req: Request) -> Reply:
    """Endpoints Marathon has and the simulator deliberately does not serve
    (docs/simulator.md, "What it implements")."""
    raise ApiError(501, {"message": f"marathonsim does not implement {req.method} {req.path} "
                                    "(see docs/simulator.md)"})


_APP = r"/v2/apps/(?P<id>.+?)"
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{pattern}$"), handler) for method, pattern, handler in [
        ("GET", r"/ping", _ping),
        ("GET", r"/v2/info", _info),
        ("GET", r"/v2/leader", _leader),
        ("GET", r"/v2/apps/?", _list_apps),
        ("POST", r"/v2/apps/?", _create_app),
        ("PUT", r"/v2/apps/?", _not_implemented),  # many apps at once: not simulated
        ("PATCH", r"/v2/apps/?", _not_implemented),
        ("GET", _APP + r"/\*", _group_apps),
        ("GET", _APP + r"/versions/(?P<version>[^/]+)", _version),
        ("GET", _APP + r"/versions/?", _versions),
        ("GET", _APP + r"/tasks/?", _app_tasks),
        ("DELETE", _APP + r"/tasks/?", _kill_app_tasks),
        ("DELETE", _APP + r"/tasks/(?P<task>[^/]+)/?", _kill_app_task),
        ("POST", _APP + r"/restart/?", _restart_app),
        ("GET", _APP + r"/?", _get_app),
        ("PUT", _APP + r"/?", _put_app),
        ("PATCH", _APP + r"/?", _patch_app),
        ("DELETE", _APP + r"/?", _delete_app),
        ("GET", r"/v2/deployments/?", _deployments),
        ("DELETE", r"/v2/deployments/(?P<id>[^/]+)/?", _cancel_deployment),
        ("GET", r"/v2/tasks/?", _all_tasks),
        ("POST", r"/v2/tasks/delete/?", _delete_tasks),
        ("GET", r"/v2/queue/?", _queue),
        ("DELETE", r"/v2/queue/(?P<id>.+?)/delay/?", _reset_delay),
        ("GET", r"/v2/groups/(?P<id>.+?)/versions(/.*)?", _not_implemented),
        ("GET", r"/v2/groups/?", _groups),
        ("GET", r"/v2/groups/(?P<id>.+?)/?", _groups),
        ("GET", r"/v2/events/?", _events),
        # Marathon serves these; the simulator does not (501, see docs/simulator.md).
        ("POST", r"/v2/groups(/.*)?", _not_implemented),
        ("PUT", r"/v2/groups(/.*)?", _not_implemented),
        ("PATCH", r"/v2/groups(/.*)?", _not_implemented),
        ("DELETE", r"/v2/groups(/.*)?", _not_implemented),
        ("GET", r"/v2/pods(/.*)?", _not_implemented),
        ("POST", r"/v2/pods(/.*)?", _not_implemented),
        ("PUT", r"/v2/pods(/.*)?", _not_implemented),
        ("DELETE", r"/v2/pods(/.*)?", _not_implemented),
        ("DELETE", r"/v2/leader/?", _not_implemented),
        ("GET", r"/v2/(eventSubscriptions|plugins|artifacts)(/.*)?", _not_implemented),
        ("POST", r"/v2/(eventSubscriptions|artifacts)(/.*)?", _not_implemented),
        ("GET", r"/(metrics|v2/metrics)/?", _not_implemented),
    ]
]


def route(ctx: Context, req: Request) -> Reply:
    allowed = False
    for method, pattern, handler in ROUTES:
        match = pattern.match(req.path)
        if match and method == req.method:
            req.params = {k: v for k, v in match.groupdict().items() if v is not None}
            return handler(ctx, req)
        allowed = allowed or bool(match)
    if allowed:
        raise ApiError(405, {"message": "HTTP 405 Method Not Allowed"})
    raise ApiError(404, {"message": "HTTP 404 Not Found"})
