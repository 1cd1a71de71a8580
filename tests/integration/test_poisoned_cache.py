"""A poisoned version cache never deploys (issue #22, item 7).

An edited entry of the Marathon version cache made ``run --rule=ran`` deploy an image Marathon
never held, and the report called it "ran". Every cached fact that leads to a change is now
confirmed with Marathon (one read of the chosen version per changing app) before the lock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tests.integration.test_history_e2e import DATE, World, app_id, indexed, make_world  # noqa: F401

API_510 = "2026-11-18T18:30:00.000Z"  # the version api held at the end of the 19th (stored as +01:00)


def cache_file(w: World) -> Path:
    [path] = [p for p in Path(w.env["ROLLBACK_CACHE_DIR"]).rglob("marathon-*.json")]
    return path


def poison(w: World, app: str, instant: str, **changes: Any) -> None:
    """Fill the cache with a plan, then edit one entry as someone with write access to it could."""
    code, _, err = w.plan("--rule=ran")
    assert code == 0, err
    path = cache_file(w)
    data = json.loads(path.read_text())
    entries = data["apps"][app_id(app)]
    key = next(k for k in entries if k.startswith(instant[:19]))
    entries[key].update(changes)
    path.write_text(json.dumps(data))


def image(w: World, name: str, tag: str) -> str:
    return w.ix.image(name, tag)


def run(w: World, *extra: str) -> tuple[int, str, str]:
    return w.cli("run", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--rule=ran", "--timeout=5", *extra)


def puts(w: World) -> list[dict[str, Any]]:
    return [r for r in w.sim.requests if r["method"] == "PUT"]


def assert_refused_and_cache_gone(w: World, code: int, err: str) -> None:
    assert code == 2, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "version cache" in last and "t/history/api" in last
    assert puts(w) == []
    assert not list(Path(w.env["ROLLBACK_CACHE_DIR"]).rglob("marathon-*.json"))  # not trusted again
    assert not list(w.dump.glob("snapshot-*.json"))


def test_an_edited_image_in_the_cache_is_refused_not_deployed(make_world: Callable[..., World]) -> None:
    """The example: an image Marathon never held."""
    w = make_world()
    poison(w, "api", API_510, image=image(w, "api", "999-evil"))
    code, out, err = run(w)
    assert_refused_and_cache_gone(w, code, err)
    assert "999-evil" in err.strip().splitlines()[-1]


def test_an_image_marathon_held_in_another_version_is_refused_too(make_world: Callable[..., World]) -> None:
    w = make_world()
    poison(w, "api", API_510, image=image(w, "api", "506-master"))
    code, out, err = run(w)
    assert_refused_and_cache_gone(w, code, err)


def test_a_poisoned_with_config_target_is_refused(make_world: Callable[..., World]) -> None:
    w = make_world()
    poison(w, "api", API_510, image=image(w, "api", "999-evil"))
    code, out, err = run(w, "--with-config")
    assert_refused_and_cache_gone(w, code, err)


def test_after_the_refusal_the_next_run_reads_marathon_and_deploys_what_ran(make_world: Callable[..., World]) -> None:
    w = make_world()
    poison(w, "api", API_510, image=image(w, "api", "999-evil"))
    assert run(w)[0] == 2
    code, out, err = run(w)
    assert code == 0, err
    assert w.tags()["api"] == "510-master"


def test_a_clean_cache_costs_one_read_per_changing_app(make_world: Callable[..., World]) -> None:
    w = make_world()
    code, _, err = w.plan("--rule=ran")
    assert code == 0, err
    before = len(w.version_reads())
    code, out, err = run(w)
    assert code == 0, err
    changing = sum(1 for r in puts(w))
    assert len(w.version_reads()) - before <= changing  # one confirming read per change, none else
