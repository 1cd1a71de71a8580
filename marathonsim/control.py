"""The simulator's own control API under /_sim/ (not Marathon's; never authenticated or
faulted), so a simulator in another process can be driven and inspected."""
from __future__ import annotations

import json
from typing import Any, Callable

from .context import Context
from .faults import FaultRule
from .knobs import Capacity, Knobs
from .replies import ApiError, Reply

Handler = Callable[[Context, Any], Reply]


def _requests(ctx: Context, body: Any) -> Reply:
    return Reply(200, {"requests": ctx.recorder.all()})


def _reset_requests(ctx: Context, body: Any) -> Reply:
    ctx.recorder.clear()
    return Reply(204)


def _get_faults(ctx: Context, body: Any) -> Reply:
    return Reply(200, {"faults": ctx.faults.describe()})


def _set_faults(ctx: Context, body: Any) -> Reply:
    """Replace the rules with one rule (an object) or several (a list)."""
    items = body if isinstance(body, list) else [body]
    try:
        ctx.faults.set([FaultRule.from_json(item) for item in items])
    except ValueError as exc:
        raise ApiError(400, {"message": str(exc)}) from None
    return Reply(200, {"faults": ctx.faults.describe()})


def _clear_faults(ctx: Context, body: Any) -> Reply:
    ctx.faults.set([])
    return Reply(204)


def _images(kind: str) -> Handler:
    def handler(ctx: Context, body: Any) -> Reply:
        images = body.get("images") if isinstance(body, dict) else None
        if not (isinstance(images, list) and all(isinstance(i, str) for i in images)):
            raise ApiError(400, {"message": 'expected {"images": ["glob", ...]}'})
        with ctx.store.lock:
            setattr(ctx.store.policy, kind, list(images))
        return Reply(200, {"images": images})

    return handler


def _get_images(ctx: Context, body: Any) -> Reply:
    policy = ctx.store.policy
    return Reply(200, {"unhealthy": policy.unhealthy, "failing": policy.failing,
                       "invalid": policy.invalid})


def _expire_tokens(ctx: Context, body: Any) -> Reply:
    if ctx.dcos_auth is None:
        raise ApiError(409, {"message": "not in DC/OS mode: there are no tokens"})
    ctx.dcos_auth.expire_all()
    return Reply(204)


def _apps(ctx: Context, body: Any) -> Reply:
    return Reply(200, {"apps": ctx.store.snapshot()})


def _get_knobs(ctx: Context, body: Any) -> Reply:
    return Reply(200, {"knobs": ctx.store.knobs.to_json(),
                       "capacity": ctx.store.cluster.capacity.to_json()
                       if ctx.store.cluster.capacity else None})


def _set_knobs(ctx: Context, body: Any) -> Reply:
    """{"app": "/id" or "*", "knobs": {...}} replaces that app's knobs."""
    if not isinstance(body, dict) or not isinstance(body.get("app", "*"), str):
        raise ApiError(400, {"message": 'expected {"app": "/id" or "*", "knobs": {...}}'})
    app = body.get("app", "*")
    try:
        knobs = Knobs.from_json(body.get("knobs", {}), f"knobs for {app}")
    except ValueError as exc:
        raise ApiError(400, {"message": str(exc)}) from None
    ctx.store.set_knobs(app, knobs)
    return _get_knobs(ctx, None)


def _set_capacity(ctx: Context, body: Any) -> Reply:
    """{"cpus", "mem", ...} sets the cluster's room; null makes it unlimited."""
    try:
        ctx.store.set_capacity(Capacity.from_json(body) if body is not None else None)
    except ValueError as exc:
        raise ApiError(400, {"message": str(exc)}) from None
    return _get_knobs(ctx, None)


def _events(ctx: Context, body: Any) -> Reply:
    ctx.store.poll()
    return Reply(200, {"events": ctx.store.events.all()})


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/_sim/requests"): _requests,
    ("POST", "/_sim/reset-requests"): _reset_requests,
    ("GET", "/_sim/faults"): _get_faults,
    ("POST", "/_sim/faults"): _set_faults,
    ("DELETE", "/_sim/faults"): _clear_faults,
    ("GET", "/_sim/images"): _get_images,
    ("POST", "/_sim/unhealthy"): _images("unhealthy"),
    ("POST", "/_sim/failing"): _images("failing"),
    ("POST", "/_sim/invalid"): _images("invalid"),
    ("POST", "/_sim/expire-tokens"): _expire_tokens,
    ("GET", "/_sim/apps"): _apps,
    ("GET", "/_sim/knobs"): _get_knobs,
    ("POST", "/_sim/knobs"): _set_knobs,
    ("POST", "/_sim/capacity"): _set_capacity,
    ("GET", "/_sim/events"): _events,
}


def handle(ctx: Context, method: str, path: str, raw: bytes) -> Reply:
    handler = ROUTES.get((method, path.rstrip("/")))
    if handler is None:
        known = ", ".join(f"{m} {p}" for m, p in ROUTES)
        return Reply(404, {"message": f"unknown control endpoint {method} {path}; "
                                      f"known: {known}"})
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        return Reply(400, {"message": f"control body is not JSON: {exc}"})
    try:
        return handler(ctx, body)
    except ApiError as exc:
        return Reply(exc.status, exc.body, exc.headers)
