"""Pure: why a deployment is stuck, in words a person acts on (docs/how-it-works.md, "Why a deployment waits").

Marathon never fails a deployment; it keeps waiting for offers, backing off after failed
launches, or waiting for health and readiness. The launch queue entry (``GET /v2/queue``), the
app (with its tasks and ``lastTaskFailure``) and the deployment (``GET /v2/deployments``, with
``readinessCheckResults``) together say which of these it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Mapping

from ..instants import read_instant
from ..marathon.appdef import AppDef, Doc
from .health import NOT_YET, UNHEALTHY, config_at, grace_seconds, new_tasks, task_health

# Marathon's offer-matching reasons (core/launchqueue/impl/OfferMatchStatistics.scala), as a person says them.
ROOM = {
    "InsufficientCpus": "insufficient cpus",
    "InsufficientMemory": "insufficient memory",
    "InsufficientDisk": "insufficient disk",
    "InsufficientGpus": "insufficient gpus",
    "InsufficientPorts": "no free ports",
}
FIT = {
    "UnfulfilledRole": "no resources for the app's role",
    "UnfulfilledConstraint": "placement constraints not met",
    "NoCorrespondingReservationFound": "no matching reservation",
    "AgentMaintenance": "agent in maintenance",
    "DeclinedScarceResources": "GPU agents kept for GPU apps",
}


def _number(value: object) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _offers(entry: Doc) -> str | None:
    summary = entry.get("processedOffersSummary")
    if not isinstance(summary, dict):
        return None
    processed = _number(summary.get("processedOffersCount"))
    if processed == 0:
        since = entry.get("since")
        return "waiting for resource offers: Mesos has offered nothing" + (f" since {since}" if since else "")
    steps = summary.get("rejectSummaryLastOffers") or summary.get("rejectSummaryLaunchAttempt") or []
    declined = [(str(s.get("reason")), _number(s.get("declined")), _number(s.get("processed")))
                for s in steps if isinstance(s, dict) and _number(s.get("declined")) > 0]
    if not declined:
        unused = _number(summary.get("unusedOffersCount"))
        return f"offers not used: {unused} of {processed} offers declined" if unused else None
    declined.sort(key=lambda item: -item[1])
    parts = [f"{ROOM.get(reason) or FIT.get(reason) or reason} on {n} of {of} offers" for reason, n, of in declined]
    head = "no agent has room" if all(reason in ROOM for reason, _, _ in declined) else "no offer fits"
    return f"{head}: {', '.join(parts)}"


def _failure(app: AppDef) -> str:
    failure = app.get("lastTaskFailure")
    if not isinstance(failure, dict) or str(failure.get("version", "")) < config_at(app):
        return ""
    message = str(failure.get("message") or "").strip() or "no message"
    state = failure.get("state")
    return message + (f" ({state})" if state else "")


def _backoff(entry: Doc, app: AppDef) -> str | None:
    delay = entry.get("delay")
    if not isinstance(delay, dict) or delay.get("overdue") is not False:
        return None
    left = _number(delay.get("timeLeftSeconds"))
    failure = _failure(app)
    last = f"; last failure: {failure}" if failure else ""
    return f"backing off after failed launches: next launch in {left}s{last}"


def _health(app: AppDef, now: dt.datetime) -> str | None:
    if not app.get("healthChecks"):
        return None
    grace = grace_seconds(app)
    running = [t for t in new_tasks(app) if t.get("state", "TASK_RUNNING") == "TASK_RUNNING"]
    states = [(t, task_health(t)) for t in running]
    bad = [t for t, state in states if state == UNHEALTHY]
    if bad:
        causes = {str(r.get("lastFailureCause")) for t in bad for r in t.get("healthCheckResults") or []
                  if isinstance(r, dict) and r.get("lastFailureCause")}
        cause = f" ({'; '.join(sorted(causes))})" if causes else ""
        return (f"health checks failing on {len(bad)} of {len(running)} new tasks{cause}; "
                "Marathon kills and relaunches them")
    waiting = [t for t, state in states if state == NOT_YET]
    if not waiting:
        return None
    starts = [s for s in (read_instant(t.get("startedAt")) for t in waiting) if s is not None]
    if starts and now < min(starts) + dt.timedelta(seconds=grace):
        left = (min(starts) + dt.timedelta(seconds=grace) - now).total_seconds()
        return (f"health checks in their grace period: {len(waiting)} of {len(running)} new tasks not healthy yet "
                f"(grace {grace:.0f}s, {left:.0f}s left)")
    return f"new tasks not healthy yet: {len(waiting)} of {len(running)} have no passing health check"


def _readiness(app: AppDef, deployment: Doc | None) -> str | None:
    results: list[object] = list(app.get("readinessCheckResults") or [])
    if deployment:
        for action in deployment.get("currentActions") or []:
            if isinstance(action, dict) and action.get("app") == app.get("id"):
                results.extend(action.get("readinessCheckResults") or [])
    waiting = {str(r.get("taskId")): r for r in results if isinstance(r, dict) and r.get("ready") is False}
    if not waiting:
        return None
    names = sorted({str(r.get("name") or "readiness") for r in waiting.values()})
    answers = sorted({str((r.get("lastResponse") or {}).get("status")) for r in waiting.values()
                      if isinstance(r.get("lastResponse"), dict) and r["lastResponse"].get("status") is not None})
    answer = f" (last answer HTTP {', '.join(answers)})" if answers else ""
    return f"new tasks not ready: readiness check {', '.join(names)} not ready on {len(waiting)} tasks{answer}"


def stuck_reason(*, queue_entry: Doc | None, app: AppDef, deployment: Doc | None,
                 now: dt.datetime) -> str | None:
    """The one reason a person acts on first, or None when nothing explains the wait."""
    if queue_entry:
        waiting = _backoff(queue_entry, app) or _offers(queue_entry)
        if waiting:
            left = _number(queue_entry.get("count"))
            return f"{waiting} ({left} instance{'s' if left != 1 else ''} left to launch)" if left else waiting
    failure = _failure(app)
    return _health(app, now) or _readiness(app, deployment) or (f"new tasks failed: {failure}" if failure else None)


def timeout_warnings(services: list[str], apps: Mapping[str, AppDef], timeout: float) -> list[str]:
    """One warning per changing service whose health grace period outlasts the wave's deadline."""
    warnings = []
    for service in services:
        grace = grace_seconds(apps.get(service) or {})
        if grace > timeout:
            warnings.append(f"{service}: --timeout={timeout:g}s is shorter than its health grace period ({grace:g}s); "
                            "its new tasks may still be not healthy yet at the deadline")
    return warnings
