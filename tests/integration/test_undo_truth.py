"""Undo tells the truth (issue #22, items 5 and 6): it never clobbers a later change, and twice is once.

Item 5: after someone else's hotfix, ``undo`` silently reverted it. Undo now compares each app
with what the run left (the run's report next to its snapshot); an app changed since is refused
by name, with Marathon's version time, unless ``--force``.
Item 6: a second ``undo`` of a ``--with-config`` run redeployed the whole fleet (Marathon gives a
restored definition a new version string). Definitions are compared, not version strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import requests
import time

from tests.integration.test_history_e2e import (CURRENT, DATE, PASSWORD, SERVICES, USER, World, app_id,  # noqa: F401
                                                indexed, make_world)


def puts(w: World, since: int = 0) -> list[str]:
    return [r["path"] for r in w.sim.requests[since:] if r["method"] == "PUT"]


def mark(w: World) -> int:
    return len(w.sim.requests)


def run(w: World, *extra: str) -> Path:
    code, out, err = w.cli("run", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--timeout=5", *extra)
    assert code == 0, err + out
    return newest_snapshot(w)


def newest_snapshot(w: World) -> Path:
    """The snapshot written last (by time: two runs in one second write snapshot-<stamp>.json and a -2 beside it)."""
    return max(w.dump.glob("snapshot-*.json"), key=lambda p: p.stat().st_mtime_ns)


def undo(w: World, snapshot: Path, *extra: str) -> tuple[int, str, str]:
    code, out, err = w.cli("undo", f"--snapshot={snapshot}", f"--dump={w.dump}", "--timeout=5", *extra)
    return code, out, err


def hotfix(w: World, name: str, tag: str) -> str:
    """Someone else deploys ``tag`` to the app (straight to Marathon); the new image."""
    app = w.sim.apps[app_id(name)]
    image = app["container"]["docker"]["image"].rsplit(":", 1)[0] + f":{tag}"
    container = {**app["container"], "docker": {**app["container"]["docker"], "image": image}}
    answer = requests.put(f"{w.sim.url}/v2/apps{app_id(name)}", json={"container": container}, auth=(USER, PASSWORD),
                          timeout=10)
    assert answer.status_code in (200, 201), answer.text
    deadline = time.monotonic() + 10
    while requests.get(f"{w.sim.url}/v2/deployments", auth=(USER, PASSWORD), timeout=10).json():
        assert time.monotonic() < deadline, "the hotfix never finished deploying"
        time.sleep(0.05)
    return image


# --- item 6: twice is once -------------------------------------------------------------------------------

def test_a_second_undo_of_a_with_config_run_changes_nothing(make_world: Callable[..., World]) -> None:
    w = make_world()
    snapshot = run(w, "--with-config")
    assert undo(w, snapshot)[0] == 0
    assert w.tags() == {n: CURRENT[n][0] for n in SERVICES}
    before = mark(w)

    code, out, err = undo(w, snapshot)
    assert code == 0, err + out
    assert puts(w, before) == []
    assert "undo: 0 of 4 services go back" in err


def test_a_second_undo_of_an_image_run_changes_nothing(make_world: Callable[..., World]) -> None:
    w = make_world()
    snapshot = run(w)
    assert undo(w, snapshot)[0] == 0
    before = mark(w)
    assert undo(w, snapshot)[0] == 0
    assert puts(w, before) == []


def test_undoing_the_undo_twice_changes_nothing_the_second_time(make_world: Callable[..., World]) -> None:
    w = make_world()
    first = run(w, "--with-config")
    assert undo(w, first)[0] == 0
    undo_snapshot = newest_snapshot(w)
    assert undo_snapshot != first
    assert undo(w, undo_snapshot)[0] == 0  # back on the run's definitions
    before = mark(w)
    code, out, err = undo(w, undo_snapshot)
    assert code == 0, err + out
    assert puts(w, before) == []


# --- item 5: a later change is not clobbered -------------------------------------------------------------

def test_undo_refuses_to_revert_a_hotfix_deployed_after_the_run(make_world: Callable[..., World]) -> None:
    w = make_world()
    snapshot = run(w)
    fixed = hotfix(w, "api", "516-hotfix")
    before = mark(w)

    code, out, err = undo(w, snapshot)
    assert code == 3, err + out
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "t/history/api" in last and "516-hotfix" in last
    assert "changed since" in last and "--force" in last
    assert "Marathon version 20" in last  # the change's time, as Marathon stamped it
    assert puts(w, before) == []
    assert w.sim.apps[app_id("api")]["container"]["docker"]["image"] == fixed


def test_undo_force_reverts_the_hotfix_and_says_so(make_world: Callable[..., World]) -> None:
    w = make_world()
    snapshot = run(w)
    hotfix(w, "api", "516-hotfix")
    code, out, err = undo(w, snapshot, "--force")
    assert code == 0, err + out
    assert w.tags()["api"] == CURRENT["api"][0]
    assert any(line.startswith("warning:") and "516-hotfix" in line for line in err.splitlines())


def test_undo_refuses_a_hotfix_of_a_with_config_run_and_names_every_app(make_world: Callable[..., World]) -> None:
    w = make_world()
    snapshot = run(w, "--with-config")
    hotfix(w, "web", "309-hotfix")
    hotfix(w, "worker", "211-hotfix")
    before = mark(w)
    code, out, err = undo(w, snapshot)
    assert code == 3, err + out
    last = err.strip().splitlines()[-1]
    assert "t/history/web" in last and "t/history/worker" in last and "t/history/api" not in last
    assert puts(w, before) == []


def test_an_app_someone_already_put_back_by_hand_is_not_a_later_change(make_world: Callable[..., World]) -> None:
    w = make_world()
    snapshot = run(w)
    hotfix(w, "api", CURRENT["api"][0])  # what the snapshot holds: undo's own aim
    before = mark(w)
    code, out, err = undo(w, snapshot)
    assert code == 0, err + out
    assert app_id("api") not in " ".join(puts(w, before))
    assert w.tags() == {n: CURRENT[n][0] for n in SERVICES}
