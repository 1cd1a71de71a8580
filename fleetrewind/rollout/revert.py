"""Pure: the plan that puts back what a failed run touched, and what its outcomes say afterwards."""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from ..errors import UsageError
from ..model.plan import Plan
from ..model.report import Outcome
from ..model.states import Status
from ..planning.build import plan_for_images, plan_for_versions
from ..platform.fleet import FleetState
from ..platform.protocol import Platform


def plan_back(plan: Plan, fleet: FleetState, fresh: FleetState, touched: Mapping[str, str]) -> Plan:
    """Every touched service back on its snapshot image; whole definitions back whole (``--with-config``)."""
    if whole(plan):  # whole definitions were replaced: put the snapshot's versions back whole
        before = {s: v for s, v in fleet.versions.items() if s in touched and v}
        return plan_for_versions(before, images=touched, current_versions=fresh.versions, current=fresh.images,
                                 app_ids=fresh.app_ids, waves=[list(w) for w in plan.waves], env=plan.env,
                                 reason="rollback to snapshot")
    return plan_for_images(touched, current=fresh.images, app_ids=fresh.app_ids,
                           waves=[list(w) for w in plan.waves], env=plan.env, reason="rollback to snapshot")


def settle(outcomes: dict[str, Outcome], back_outcomes: Mapping[str, Outcome]) -> bool:
    """Each reverted service is rolled-back or rollback-failed (with why); True when all went back."""
    all_back = True
    for service, back_outcome in back_outcomes.items():
        ok = back_outcome.status in (Status.SUCCEEDED, Status.UNCHANGED)
        all_back = all_back and ok
        outcome = outcomes[service]
        error = outcome.error if ok else f"{outcome.error or ''}; rollback failed: {back_outcome.error}".lstrip("; ")
        outcomes[service] = replace(outcome, status=Status.ROLLED_BACK if ok else Status.ROLLBACK_FAILED, error=error)
    return all_back


def whole(plan: Plan) -> bool:
    return any(step.restore_version for step in plan.steps)


def refuse_without_docker(plan: Plan, fleet: FleetState, platform: Platform) -> None:
    """Only a Docker image can be changed: refuse before the first change, not half-way through a wave."""
    bad = [f"{step.service} ({step.app_id})" for step in plan.changes()
           if not platform.changeable(fleet.apps[step.service])]
    if bad:
        raise UsageError(f"no Docker image to change in {', '.join(bad)}: the app has no container.docker; "
                         "map the service to its Docker app with `apps:` in the config")
