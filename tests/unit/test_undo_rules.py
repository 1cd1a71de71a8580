"""What undo may put back, as pure rules (issue #22, items 5 and 6)."""

from __future__ import annotations

import pytest

from fleetrewind.marathon.appdef import same_definition
from fleetrewind.marathon.health import config_at
from fleetrewind.planning.undo import Left, changed_since

OLD, NEW, HOTFIX = "r/api:1", "r/api:2", "r/api:3-hotfix"


@pytest.mark.parametrize("status, left", [
    ("succeeded", {NEW}), ("unchanged", {OLD}), ("not-started", {OLD}), ("skipped", {OLD}),
    ("rolled-back", {OLD}), ("failed", {OLD, NEW}), ("interrupted", {OLD, NEW}), ("rollback-failed", {OLD, NEW}),
])
def test_what_each_status_says_the_run_left(status: str, left: set[str]) -> None:
    assert Left(status, OLD, NEW).images() == left


def later(now: str, status: str = "succeeded") -> list[str]:
    app = {"id": "/p/api", "version": "2026-12-06T10:00:00.000Z",
           "versionInfo": {"lastConfigChangeAt": "2026-12-06T09:59:00.000Z"}}
    found = changed_since({"api": OLD}, {"api": Left(status, OLD, NEW)}, {"api": config_at(app)}, {"api": "/p/api"},
                          {"api": now})
    return [c.describe() for c in found]


def test_a_hotfix_after_the_run_is_a_later_change_with_marathons_time() -> None:
    assert later(HOTFIX) == [f"api (/p/api) runs {HOTFIX}, Marathon version 2026-12-06T09:59:00.000Z, not {NEW}"]


@pytest.mark.parametrize("now, status", [(NEW, "succeeded"), (OLD, "succeeded"), (OLD, "failed"), (NEW, "failed")])
def test_what_the_run_left_or_what_undo_aims_at_is_not_a_later_change(now: str, status: str) -> None:
    assert later(now, status) == []


def test_a_service_the_report_does_not_name_is_not_judged() -> None:
    assert changed_since({"api": OLD}, {}, {}, {}, {"api": HOTFIX}) == []


def test_definitions_compare_without_what_the_server_fills_in() -> None:
    stored = {"id": "/p/api", "env": {"A": "1"}, "version": "2026-11-19T10:00:00.000Z"}
    restored = {**stored, "version": "2026-12-06T10:00:00.000Z", "tasksRunning": 2, "tasks": [],
                "versionInfo": {"lastConfigChangeAt": "2026-12-06T10:00:00.000Z"}, "deployments": []}
    assert same_definition(restored, stored)
    assert not same_definition({**restored, "env": {"A": "2"}}, stored)
    assert not same_definition({**restored, "instances": 3}, stored)
