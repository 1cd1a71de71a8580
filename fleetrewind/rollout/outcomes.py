"""What happened to each service, and the report built from it (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from .plan import CHANGE, NO_RELEASE, UNCHANGED, Plan

SUCCEEDED, FAILED, NOT_STARTED, INTERRUPTED = "succeeded", "failed", "not-started", "interrupted"
ROLLED_BACK, ROLLBACK_FAILED_S, SKIPPED = "rolled-back", "rollback-failed", "skipped"
BAD_STATUSES = (FAILED, INTERRUPTED, ROLLBACK_FAILED_S)


@dataclass
class Outcome:
    service: str
    app_id: str | None
    from_image: str | None
    to_image: str | None
    action: str
    reason: str
    status: str = NOT_STARTED
    deployment_id: str | None = None
    seconds: float | None = None
    error: str | None = None
    failure_class: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("from_image")
        data["to"] = data.pop("to_image")
        return data


def outcomes_for(plan: Plan) -> dict[str, Outcome]:
    initial = {CHANGE: NOT_STARTED, UNCHANGED: "unchanged", NO_RELEASE: SKIPPED}
    return {
        s.service: Outcome(s.service, s.app_id, s.current, s.target if s.action != NO_RELEASE else None, s.action,
                           s.reason, initial[s.action])
        for s in plan.steps
    }


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_report(*, command: str, env: str, date: str | None, actor: str, build_url: str | None, marathon: str,
                 started: dt.datetime, finished: dt.datetime, state: str, exit_code: int, snapshot: str | None,
                 outcomes: Sequence[Outcome], states: Sequence[str] = ()) -> dict[str, Any]:
    services = [o.as_dict() for o in outcomes]
    return {
        "format": 1,
        "command": command,
        "env": env,
        "date": date,
        "actor": actor,
        "build_url": build_url,
        "marathon": marathon,
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "seconds": round((finished - started).total_seconds(), 3),
        "state": state,
        "exit_code": exit_code,
        "snapshot": snapshot,
        "states": list(states),
        "services": services,
        "summary": {
            "changed": sum(1 for o in outcomes if o.status in (SUCCEEDED, ROLLED_BACK) and o.action == CHANGE),
            "failed": sum(1 for o in outcomes if o.status in BAD_STATUSES),
            "unchanged": sum(1 for o in outcomes if o.status == "unchanged"),
            "skipped": sum(1 for o in outcomes if o.status in (SKIPPED, NOT_STARTED)),
        },
    }
