"""`diff` (the suspects between two dates) and `status` (what runs now), the pure parts: releases
between dates, in-flight times, durations, deployments in a span. End to end (the real registry
and the simulator) in tests/integration/test_diff_status.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.marathon.fleet import app_counts
from fleetrewind.platform.fleet import Deployment, Peek
from fleetrewind.releases.diff import diff, render_diff
from fleetrewind.releases.index import parse_index
from fleetrewind.report.status import LockView, build_status, duration, render_status

FREE = LockView(store="file (/run/lock/fleetrewind)", record=None, held=None)


FLEET = ("api", "worker", "auth", "web")


def _index() -> Any:
    def rel(service: str, tag: str, created: str) -> dict[str, str]:
        return {"service": service, "tag": tag, "created": created, "digest": "sha256:" + tag[0] * 64,
                "image": f"r.example/{service}:{tag}"}

    days = {
        "2026-11-20": [rel("api", "515-master", "2026-11-20T09:30:00Z"), rel("worker", "210-master", "2026-11-20T08:00:00Z")],
        "2026-11-19": [rel("api", "511-master", "2026-11-19T08:00:00Z"), rel("api", "512-master", "2026-11-19T11:00:00Z")],
        "2026-11-18": [rel("api", "510-master", "2026-11-18T17:59:00Z"), rel("web", "305-master", "2026-11-18T07:30:00Z")],
    }
    return parse_index({"format": 2, "env": "prod", "branch": "master", "registry": "https://r.example",
                        "all": list(FLEET), "rollbacks": days}, Path("rollback.json"))


@pytest.mark.parametrize("after, through, expected", [
    ("2026-11-18", "2026-11-20", {"api": ["515-master", "512-master", "511-master"], "worker": ["210-master"]}),
    ("2026-11-18", "2026-11-19", {"api": ["512-master", "511-master"]}),
    ("2026-11-17", "2026-11-18", {"api": ["510-master"], "web": ["305-master"]}),
    ("2026-11-20", "2026-11-20", {}),
    ("2026-11-01", "2026-11-02", {}),
], ids=["two-days", "one-day", "first-day", "same-day", "before-everything"])
def test_diff_lists_the_releases_of_the_days_after_from_through_to_newest_first(
        after: str, through: str, expected: dict[str, list[str]]) -> None:
    result = diff(_index(), after=after, through=through)

    assert {s.service: [r.tag for r in s.releases] for s in result.changed()} == expected
    assert [s.service for s in result.unchanged()] == [s for s in FLEET if s not in expected]


def test_diff_says_which_release_runs_now_and_what_is_not_in_the_index() -> None:
    current = {"api": "r.example/api:512-master", "worker": "r.example/worker:9-hotfix", "auth": None,
               "web": "r.example/web:305-master"}
    text = render_diff(diff(_index(), after="2026-11-18", through="2026-11-20", current=current,
                            problems={"auth": "auth: no Marathon app /<group>/prod/.../auth"}))

    assert "api  (3 releases; runs now: 512-master (built 2026-11-19T11:00:00Z))" in text
    assert "  512-master           built 2026-11-19T11:00:00Z  r.example/api:512-master  <- runs now" in text
    assert "worker  (1 release; runs now: r.example/worker:9-hotfix (not in the index))" in text
    assert text.splitlines()[-2:] == ["unchanged: auth, web", "2 of 4 services have releases in that span"]


def test_status_computes_in_flight_time_from_the_clock_it_is_given() -> None:
    now = dt.datetime(2026, 11, 21, 3, 0, 0, tzinfo=dt.timezone.utc)
    app = {"id": "/ds/prod/shop/api", "instances": 3, "tasksRunning": 2, "tasksHealthy": 1,
           "healthChecks": [{"path": "/health"}], "deployments": [{"id": "d-1"}],
           "container": {"docker": {"image": "r.example/api:512-master"}}}
    peeks = {"api": Peek("/ds/prod/shop/api", app, image=app["container"]["docker"]["image"], counts=app_counts(app)), "worker": Peek(None, None, "worker: no Marathon app")}
    deployments = [Deployment("d-1", "2026-11-21T02:57:55.000Z", ("/ds/prod/shop/api",))]

    status = build_status(_index(), peeks, deployments, now=now, lock=FREE, last_run=None)

    api = status.services[0]
    assert [(d.id, d.seconds) for d in api.deployments] == [("d-1", 125.0)]
    text = render_status(status)
    assert "d-1 for 2m05s" in text and "2/3 running, 1 healthy" in text and "512-master (2026-11-19)" in text
    assert "unknown: worker: no Marathon app" in text
    assert text.splitlines()[-2:] == ["lock: free (store: file (/run/lock/fleetrewind))",
                                      "last run: none recorded in the ledger"]


@pytest.mark.parametrize("version", ["0001-01-01T00:00:00Z", "２０２６-11-21T02:57:55Z", "soon", ""])
def test_an_unreadable_deployment_start_shows_no_duration(version: str) -> None:
    """Read as every other time: no duration from Go's zero time or full-width digits."""
    now = dt.datetime(2026, 11, 21, 3, 0, 0, tzinfo=dt.timezone.utc)
    app = {"id": "/ds/prod/shop/api", "instances": 1, "deployments": [{"id": "d-1"}],
           "container": {"docker": {"image": "r.example/api:512-master"}}}
    deployments = [Deployment("d-1", version, ("/ds/prod/shop/api",))]

    status = build_status(_index(), {"api": Peek("/ds/prod/shop/api", app, image=app["container"]["docker"]["image"], counts=app_counts(app))}, deployments, now=now, lock=FREE,
                          last_run=None)

    assert [(d.id, d.seconds) for d in status.services[0].deployments] == [("d-1", None)]
    assert "d-1 for ?" in render_status(status)


@pytest.mark.parametrize("seconds, shown", [(None, "?"), (0.4, "0s"), (59, "59s"), (95, "1m35s"), (7300, "2h01m")])
def test_durations_read_like_a_person_says_them(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def _definition(at: str, image: str | None, instances: int = 2) -> Any:
    from fleetrewind.platform.timeline import Definition, parse_instant

    return Definition(version=at, at=parse_instant(at), image=image, instances=instances, fields={})


def test_deployed_between_lists_image_changes_in_the_span_not_scaling_and_says_when_history_is_short() -> None:
    from fleetrewind.platform.timeline import Interval, Timeline, broken, parse_instant
    from fleetrewind.platform.timeline import deployed_between
    from fleetrewind.releases.diff import span

    defs = [_definition("2026-11-18T18:00:00Z", "r/api:510-master"), _definition("2026-11-19T12:00:00Z", "r/api:512-master"),
            _definition("2026-11-19T15:00:00Z", "r/api:512-master", instances=4),  # scaled: no new image
            _definition("2026-11-20T10:00:00Z", "r/api:515-master"), _definition("2026-11-21T01:00:00Z", "r/api:516-master")]
    ends = [d.at for d in defs[1:]] + [None]
    intervals = tuple(Interval(start=d.at, end=end, definition=d) for d, end in zip(defs, ends))
    start, end = span(_index(), "2026-11-18", "2026-11-20")
    assert (start, end) == (parse_instant("2026-11-19T00:00:00Z"), parse_instant("2026-11-21T00:00:00Z"))

    complete = Timeline(app_id="/a", intervals=intervals, horizon=defs[0].at, complete=True)
    changes, note = deployed_between(complete, start, end)
    assert [(at.isoformat(), image) for at, image in changes] == [
        ("2026-11-19T12:00:00+00:00", "r/api:512-master"), ("2026-11-20T10:00:00+00:00", "r/api:515-master")]
    assert note is None

    short = Timeline(app_id="/a", intervals=intervals[3:], horizon=defs[3].at, complete=False, max_versions=2)
    changes, note = deployed_between(short, start, end)
    assert [image for _, image in changes] == ["r/api:515-master"]
    assert note and "Marathon keeps only the last 2 versions" in note
    assert deployed_between(broken("/a", "its versions could not be read: HTTP 500"), start, end) == \
        ([], "its versions could not be read: HTTP 500")
