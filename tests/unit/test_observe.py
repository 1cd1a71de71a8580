"""What one app read proves about what served (marathon/evidence.py): table tests, no I/O."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fleetrewind.marathon.evidence import observe, task_failure

NOW = dt.datetime(2026, 11, 19, 12, 0, tzinfo=dt.timezone.utc)
V = "2026-11-19T10:00:00.000Z"


def app(*tasks: dict[str, Any], checks: bool = True, **extra: Any) -> dict[str, Any]:
    return {"id": "/ds/prod/shop/api", "version": V, "instances": 2, "tasks": list(tasks),
            "versionInfo": {"lastConfigChangeAt": V, "lastScalingAt": V},
            "container": {"docker": {"image": "r/api:1-master"}},
            **({"healthChecks": [{"protocol": "HTTP"}]} if checks else {}), **extra}


def task(state: str = "TASK_RUNNING", version: str = V, success: str | None = "2026-11-19T10:01:00Z",
         failure: str | None = None, alive: bool = True, started: str = "2026-11-19T10:00:30Z") -> dict[str, Any]:
    result: dict[str, Any] = {"alive": alive}
    if success:
        result["firstSuccess"] = success
    if failure:
        result["lastFailure"] = failure
    return {"state": state, "version": version, "startedAt": started, "healthCheckResults": [result]}


CASES = [
    ("every instance healthy: since the later first success", app(task(), task(success="2026-11-19T10:05:00Z")),
     (2, 2, 0, True, "2026-11-19T10:05:00+00:00")),
    ("a failure after the first success restarts the stretch",
     app(task(), task(failure="2026-11-19T11:00:00Z")), (2, 2, 0, True, "2026-11-19T11:00:00+00:00")),
    ("one instance not alive: not serving", app(task(), task(alive=False)), (1, 2, 0, False, NOW.isoformat())),
    ("an old configuration's task does not count", app(task(), task(version="2026-11-18T10:00:00.000Z")),
     (1, 1, 0, False, NOW.isoformat())),
    ("staging", app(task(), task(state="TASK_STAGING", success=None)), (1, 1, 1, False, NOW.isoformat())),
    ("no health checks: running since started", app(task(), task(started="2026-11-19T10:02:00Z"), checks=False),
     (2, 2, 0, True, "2026-11-19T10:02:00+00:00")),
]


@pytest.mark.parametrize("name, doc, expected", CASES, ids=[c[0] for c in CASES])
def test_observe(name: str, doc: dict[str, Any], expected: tuple[int, int, int, bool, str]) -> None:
    seen = observe("api", doc, NOW)
    assert seen is not None
    assert (seen.healthy, seen.running, seen.staged, seen.serving, seen.first.isoformat()) == expected
    assert seen.last == NOW and seen.version == V and seen.image == "r/api:1-master"


def test_last_task_failure_is_read_as_its_version_and_time() -> None:
    failure = task_failure({"lastTaskFailure": {"version": V, "timestamp": "2026-11-19T10:08:00.000Z",
                                                "state": "TASK_KILLED", "message": "..."}})
    assert failure is not None and failure.state == "TASK_KILLED"
    assert failure.version == dt.datetime(2026, 11, 19, 10, tzinfo=dt.timezone.utc)
    assert task_failure({"lastTaskFailure": {"version": "garbage", "timestamp": V}}) is None
    assert task_failure({}) is None
