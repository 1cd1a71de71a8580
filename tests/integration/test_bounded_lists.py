"""Version lists and tag lists are capped (issue #22, item 10).

An app whose ``/v2/apps/<id>/versions`` listed 20,000 versions was read in full (37,868
requests). ``max_versions`` (config, default ``limits.DEFAULT_READ_CAP``) caps the definitions
read, newest first; what lies beyond is a ``history-short`` check. A registry listing a million
tags had each one's manifest read (hours): ``max_tags`` caps the tags of a branch read per
repository, newest builds first, with one warning.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Callable

from fleetrewind.cli import main
from fleetrewind.marathon.limits import DEFAULT_READ_CAP
from testbed.hostile import Behaviour, HostileRegistry
from testbed.hostile_marathon import HostileMarathon
from tests.integration.test_history_e2e import DATE, PREFIX, World, app_id, indexed, make_world  # noqa: F401


def plan_through(w: World, front: HostileMarathon, *extra: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = w.cli("plan", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--rule=ran", "--json",
                           *extra, url=front.url)
    return code, (json.loads(out) if out.strip() else {}), err


def short(plan: dict[str, Any], name: str) -> list[str]:
    return [c["detail"] for c in plan["checks"] if c["kind"] == "history-short" and c["service"] == PREFIX + name]


def test_twenty_thousand_versions_are_read_up_to_the_cap(make_world: Callable[..., World]) -> None:
    """The example: every listed version was read."""
    w = make_world()
    with HostileMarathon(w.sim.url) as front:
        front.versions[app_id("api")] = 20_000
        code, plan, err = plan_through(w, front)
    assert code == 0, err
    assert front.count("versions") == 1
    assert front.count("version") <= DEFAULT_READ_CAP
    [detail] = short(plan, "api")
    assert f"only the newest {DEFAULT_READ_CAP} of its 20000 versions are read (max_versions)" in detail


def test_the_cap_is_a_setting(make_world: Callable[..., World]) -> None:
    w = make_world()
    with HostileMarathon(w.sim.url) as front:
        front.versions[app_id("api")] = 500
        front.versions[app_id("web")] = 30
        code, plan, err = plan_through(w, front, w.config("max_versions: 20\n"))
    assert code == 0, err
    assert front.count("version") <= 20 + 20
    assert "only the newest 20 of its 500 versions" in short(plan, "api")[0]
    assert "only the newest 20 of its 30 versions" in short(plan, "web")[0]


def test_a_list_under_the_cap_is_read_whole_and_not_called_short_for_it(make_world: Callable[..., World]) -> None:
    w = make_world()
    with HostileMarathon(w.sim.url) as front:
        front.versions[app_id("api")] = 12
        code, plan, err = plan_through(w, front)
    assert code == 0, err
    assert front.count("version") <= 12
    assert not any("max_versions" in d for d in short(plan, "api"))


def get(server: HostileRegistry, dump: Path, *extra: str) -> tuple[int, str]:
    err = io.StringIO()
    code = main(["get", "--repo=api", "--env=prod", f"--dump={dump}", f"--registry={server.url}", "--no-cache",
                 *extra], environ={}, stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


def manifests(server: HostileRegistry) -> int:
    return sum(1 for seen in server.seen() if "/manifests/" in seen.path)


def test_a_repository_with_thousands_of_tags_reads_only_the_newest_builds(tmp_path: Path) -> None:
    with HostileRegistry() as server:
        server.behave("api", Behaviour(tags=[f"{n}-master" for n in range(1, 3001)] + ["7-develop"]))
        (tmp_path / "rollback.yaml").write_text("max_tags: 40\n")
        code, err = get(server, tmp_path, f"--config={tmp_path / 'rollback.yaml'}")
        assert code == 0, err
        assert manifests(server) <= 40
    index = (tmp_path / "rollback.json").read_text()
    assert '"3000-master"' in index and '"2961-master"' in index and '"2960-master"' not in index
    warning = [line for line in err.splitlines() if line.startswith("warning:") and "max_tags" in line]
    assert len(warning) == 1 and "3000 tags of branch 'master'" in warning[0] and "newest 40" in warning[0]
