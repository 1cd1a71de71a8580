"""Why a deployment is stuck, from the launch queue, the app and the deployment (Marathon's own JSON shapes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fleetrewind.marathon.health import judge
from fleetrewind.marathon.stuck import stuck_reason

NOW = dt.datetime(2026, 11, 19, 10, 10, 0, tzinfo=dt.timezone.utc)
CONFIG_AT = "2026-11-19T10:05:00.000Z"
IMAGE = "reg:5000/api:2-master"


def app(*, tasks: list[dict[str, Any]] | None = None, checks: bool = True, grace: int | None = None,
        failure: dict[str, Any] | None = None, deployments: bool = True, **extra: Any) -> dict[str, Any]:
    check: dict[str, Any] = {"protocol": "MESOS_HTTP", "path": "/health"}
    if grace is not None:
        check["gracePeriodSeconds"] = grace
    body: dict[str, Any] = {
        "id": "/ds/prod/shop/api", "instances": 2,
        "container": {"type": "DOCKER", "docker": {"image": IMAGE}},
        "healthChecks": [check] if checks else [],
        "version": CONFIG_AT, "versionInfo": {"lastConfigChangeAt": CONFIG_AT, "lastScalingAt": CONFIG_AT},
        "tasks": list(tasks or []),
        "deployments": [{"id": "d-1"}] if deployments else [],
        **extra,
    }
    if failure:
        body["lastTaskFailure"] = failure
    return body


def task(started: str = "2026-11-19T10:09:00.000Z", *, results: list[dict[str, Any]] | None = None,
         version: str = CONFIG_AT, state: str = "TASK_RUNNING") -> dict[str, Any]:
    return {"id": f"api.{started}", "state": state, "startedAt": started, "version": version,
            "healthCheckResults": results or []}


def queue(**fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"count": 2, "role": "*", "since": "2026-11-19T10:05:00.100Z",
                             "delay": {"timeLeftSeconds": 0, "overdue": True},
                             "processedOffersSummary": {"processedOffersCount": 0, "unusedOffersCount": 0},
                             "app": {"id": "/ds/prod/shop/api"}}
    entry.update(fields)
    return entry


def rejects(*steps: tuple[str, int, int]) -> dict[str, Any]:
    return {"processedOffersCount": 12, "unusedOffersCount": 12, "lastUnusedOfferAt": "2026-11-19T10:09:59.000Z",
            "rejectSummaryLastOffers": [{"reason": r, "declined": d, "processed": p} for r, d, p in steps]}


FAILURE = {"appId": "/ds/prod/shop/api", "host": "agent-3", "message": "Failed to pull image reg:5000/api:2-master",
           "state": "TASK_FAILED", "taskId": "api.x", "timestamp": "2026-11-19T10:09:30.000Z", "version": CONFIG_AT}


@pytest.mark.parametrize("entry, expected", [
    (queue(processedOffersSummary=rejects(("UnfulfilledRole", 0, 12), ("UnfulfilledConstraint", 0, 12),
                                          ("InsufficientCpus", 12, 12), ("InsufficientMemory", 0, 0))),
     "no agent has room: insufficient cpus on 12 of 12 offers (2 instances left to launch)"),
    (queue(processedOffersSummary=rejects(("InsufficientCpus", 3, 12), ("InsufficientMemory", 9, 9))),
     "no agent has room: insufficient memory on 9 of 9 offers, insufficient cpus on 3 of 12 offers "
     "(2 instances left to launch)"),
    (queue(processedOffersSummary=rejects(("UnfulfilledConstraint", 12, 12))),
     "no offer fits: placement constraints not met on 12 of 12 offers (2 instances left to launch)"),
    (queue(count=1),
     "waiting for resource offers: Mesos has offered nothing since 2026-11-19T10:05:00.100Z "
     "(1 instance left to launch)"),
])
def test_the_launch_queue_says_what_no_offer_had(entry: dict[str, Any], expected: str) -> None:
    assert stuck_reason(queue_entry=entry, app=app(), deployment=None, now=NOW) == expected


def test_a_backed_off_launch_says_when_it_retries_and_why_the_last_task_failed() -> None:
    entry = queue(delay={"timeLeftSeconds": 42, "overdue": False})
    reason = stuck_reason(queue_entry=entry, app=app(failure=FAILURE), deployment=None, now=NOW)
    assert reason == ("backing off after failed launches: next launch in 42s; last failure: "
                      "Failed to pull image reg:5000/api:2-master (TASK_FAILED) (2 instances left to launch)")


def test_a_failure_of_the_previous_version_is_not_blamed_on_this_one() -> None:
    old = dict(FAILURE, version="2026-11-01T00:00:00.000Z")
    entry = queue(delay={"timeLeftSeconds": 7, "overdue": False}, count=1)
    assert stuck_reason(queue_entry=entry, app=app(failure=old), deployment=None, now=NOW) == \
        "backing off after failed launches: next launch in 7s (1 instance left to launch)"


def test_new_tasks_in_their_grace_period_are_not_healthy_yet() -> None:
    # Marathon ignores a failing check before the first success and inside gracePeriodSeconds (default 300):
    # the result stays as it was, not alive with no failure counted
    failing = [{"instanceId": "api.1", "alive": False, "consecutiveFailures": 0}]
    subject = app(tasks=[task(results=failing), task()])
    assert stuck_reason(queue_entry=None, app=subject, deployment=None, now=NOW) == \
        "health checks in their grace period: 2 of 2 new tasks not healthy yet (grace 300s, 240s left)"
    verdict = judge(subject, IMAGE, {"d-1"})
    assert not verdict.done and not verdict.unhealthy and verdict.not_yet == 2
    assert verdict.detail == "0/2 new tasks healthy, 2 not healthy yet, deployment in progress"


def test_after_the_grace_period_failing_checks_are_unhealthy_with_their_cause() -> None:
    failing = [{"alive": False, "consecutiveFailures": 4, "lastFailureCause": "HTTP 503"}]
    subject = app(tasks=[task("2026-11-19T10:08:00.000Z", results=failing),
                         task("2026-11-19T10:08:00.000Z", results=[{"alive": True, "firstSuccess": "x"}])], grace=60)
    assert stuck_reason(queue_entry=None, app=subject, deployment=None, now=NOW) == \
        "health checks failing on 1 of 2 new tasks (HTTP 503); Marathon kills and relaunches them"
    verdict = judge(subject, IMAGE, {"d-1"})
    assert verdict.unhealthy and verdict.detail == "1/2 new tasks healthy, 1 unhealthy, deployment in progress"


def test_a_task_that_passed_once_is_unhealthy_when_it_fails_even_inside_the_grace_period() -> None:
    # after the first success Marathon counts failures at once
    flapped = [{"alive": False, "firstSuccess": "2026-11-19T10:09:10.000Z", "lastFailure": "2026-11-19T10:09:50.000Z",
                "consecutiveFailures": 1, "lastFailureCause": "timeout"}]
    verdict = judge(app(tasks=[task(results=flapped)]), IMAGE, set())
    assert verdict.unhealthy and verdict.not_yet == 0


def test_new_tasks_not_ready_name_the_check_and_its_last_answer() -> None:
    healthy = [{"alive": True, "firstSuccess": "2026-11-19T10:09:05.000Z"}]
    deployment = {"id": "d-1", "currentActions": [{"action": "RestartApplication", "app": "/ds/prod/shop/api",
                                                   "readinessCheckResults": [
                                                       {"name": "warmup", "taskId": "api.1", "ready": False,
                                                        "lastResponse": {"status": 503, "contentType": "text/plain",
                                                                         "body": "warming"}},
                                                       {"name": "warmup", "taskId": "api.2", "ready": True}]}]}
    subject = app(tasks=[task(results=healthy), task(results=healthy)],
                  readinessChecks=[{"name": "warmup", "path": "/ready"}])
    assert stuck_reason(queue_entry=None, app=subject, deployment=deployment, now=NOW) == \
        "new tasks not ready: readiness check warmup not ready on 1 tasks (last answer HTTP 503)"
    # healthy and running, but Marathon's deployment is not over: not done
    assert not judge(subject, IMAGE, {"d-1"}).done
    assert judge(app(tasks=subject["tasks"], deployments=False, readinessChecks=subject["readinessChecks"]),
                 IMAGE, set()).done


def test_nothing_to_say_for_a_deployment_that_simply_runs() -> None:
    healthy = [{"alive": True, "firstSuccess": "2026-11-19T10:09:05.000Z"}]
    assert stuck_reason(queue_entry=None, app=app(tasks=[task(results=healthy)]), deployment=None, now=NOW) is None
    assert stuck_reason(queue_entry=None, app=app(checks=False, tasks=[task()]), deployment=None, now=NOW) is None


def test_without_a_queue_entry_the_last_failure_of_this_version_is_the_reason() -> None:
    assert stuck_reason(queue_entry=None, app=app(checks=False, failure=FAILURE), deployment=None, now=NOW) == \
        "new tasks failed: Failed to pull image reg:5000/api:2-master (TASK_FAILED)"
