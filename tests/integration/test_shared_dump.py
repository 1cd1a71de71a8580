"""Runs of one second sharing a ``--dump`` keep every file of their own (issue #22, item 4)."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

import fleetrewind.rollout.usecase as usecase_module
from tests.integration.test_faults import World, indexed, make_world  # noqa: F401

SECOND = "20261206T210000Z"


@pytest.fixture
def one_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command starts in the same second (the stamp is taken before the lock)."""
    monkeypatch.setattr(usecase_module, "stamp_now", lambda *_a: SECOND)


def test_a_run_and_its_undo_in_one_second_keep_both_snapshots_reports_and_junits(
        make_world: Callable[..., World], cli: Any, one_second: None) -> None:
    world = make_world()
    run = cli(*world.run_args(), env=world.env)
    assert run.code == 0, run.err
    [snapshot] = world.files("snapshot-*.json")
    undo = cli("undo", f"--snapshot={snapshot}", "--force", f"--dump={world.dump}", "--timeout=5", env=world.env)
    assert undo.code == 0, undo.err

    assert [p.name for p in world.files("snapshot-*.json")] == [f"snapshot-{SECOND}-2.json", f"snapshot-{SECOND}.json"]
    reports = {p.name: json.loads(p.read_text()) for p in world.files("report-*.json")}
    assert {r["command"] for r in reports.values()} == {"run", "undo"}
    assert reports[f"report-{SECOND}.json"]["snapshot"].endswith(f"snapshot-{SECOND}.json")
    assert reports[f"report-{SECOND}-2.json"]["snapshot"].endswith(f"snapshot-{SECOND}-2.json")
    assert len(world.files("junit-*.xml")) == 2
    assert world.images() == world.original


def test_three_runs_of_one_second_into_one_dump_are_three_reports(make_world: Callable[..., World], cli: Any,
                                                                  one_second: None) -> None:
    world = make_world()
    for _ in range(3):
        cli(*world.run_args(), env=world.env)
    states = [json.loads(p.read_text())["state"] for p in world.files("report-*.json")]
    assert sorted(states) == ["NOTHING_TO_DO", "NOTHING_TO_DO", "SUCCEEDED"]  # the first one kept
    assert [p.name for p in world.files("report-*.json")] == [
        f"report-{SECOND}-2.json", f"report-{SECOND}-3.json", f"report-{SECOND}.json"]
