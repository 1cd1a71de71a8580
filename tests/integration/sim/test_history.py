"""Contract: a seeded history of past versions, timestamps as instants, retention.

What the simulator serves is described in docs/simulator.md ("History"); Marathon's behaviour
it follows is in `api/v2/AppVersionsResource.scala`, `state/Timestamp.scala`,
`state/VersionInfo.scala` and `storage/StorageConf.scala` (`zk_max_versions`).
"""
from __future__ import annotations

from typing import Any

import pytest
import requests

from marathonsim import Simulator

from .conftest import START, FakeClock, MakeSim, docker_app, get_app

API = "/v2/apps/shop/prod/api"
REG = "registry.example.com/api"

HISTORY: list[dict[str, Any]] = [
    # out of order on purpose: entries are ordered by instant, in any ISO spelling
    {"version": "2026-11-12T09:00:00+01:00", "image": f"{REG}:510-master"},
    {"version": "2026-11-10T08:00:00Z", "image": f"{REG}:500-master", "cpus": 0.25,
     "env": {"DB_URL": "postgres://old"}},
    {"version": "2026-11-13T08:00:00.000Z", "instances": 3},
    {"version": "2026-11-14T08:00:00.000Z", "image": f"{REG}:511-master", "refused": True},
    {"version": "2026-11-15T08:00:00.000Z", "healthChecks": [{"protocol": "TCP"}]},
]
CURRENT = "2026-11-17T08:00:00.000Z"


def seeded(make_sim: MakeSim, **kwargs: Any) -> Simulator:
    app = docker_app(image=f"{REG}:512-master", version=CURRENT,
                     env={"DB_URL": "postgres://new"})
    return make_sim([app], history={"/shop/prod/api": HISTORY}, **kwargs)


def stored(http: requests.Session, sim: Simulator, version: str) -> dict[str, Any]:
    r = http.get(f"{sim.url}{API}/versions/{version}")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def test_seeded_versions_are_listed_and_each_is_its_definition(
        make_sim: MakeSim, http: requests.Session) -> None:
    sim = seeded(make_sim)
    versions = http.get(f"{sim.url}{API}/versions").json()["versions"]
    assert versions == [CURRENT, "2026-11-15T08:00:00.000Z", "2026-11-14T08:00:00.000Z",
                        "2026-11-13T08:00:00.000Z", "2026-11-12T08:00:00.000Z",
                        "2026-11-10T08:00:00.000Z"]
    first = stored(http, sim, "2026-11-10T08:00:00.000Z")
    assert first["container"]["docker"]["image"] == f"{REG}:500-master"
    assert (first["cpus"], first["env"], first["instances"]) == (0.25, {"DB_URL": "postgres://old"}, 2)
    # each change builds on the one before it: the image alone changed on the 12th
    second = stored(http, sim, "2026-11-12T08:00:00.000Z")
    assert second["container"]["docker"]["image"] == f"{REG}:510-master"
    assert second["cpus"] == 0.25 and second["container"]["portMappings"] == first["container"]["portMappings"]
    assert "healthChecks" in second  # the current app's checks, until the 15th changed them
    assert stored(http, sim, "2026-11-15T08:00:00.000Z")["healthChecks"][0]["protocol"] == "TCP"
    app = get_app(http, sim)
    assert app["version"] == CURRENT and app["container"]["docker"]["image"] == f"{REG}:512-master"


def test_scale_only_and_refused_versions(make_sim: MakeSim, http: requests.Session) -> None:
    """A scale-only version moves lastScalingAt only; a refused one was stored but the next
    version builds on the one before it (the refused image never became current)."""
    sim = seeded(make_sim)
    scaled = stored(http, sim, "2026-11-13T08:00:00.000Z")
    assert scaled["instances"] == 3
    assert scaled["versionInfo"] == {"lastScalingAt": "2026-11-13T08:00:00.000Z",
                                     "lastConfigChangeAt": "2026-11-12T08:00:00.000Z"}
    refused = stored(http, sim, "2026-11-14T08:00:00.000Z")
    assert refused["container"]["docker"]["image"] == f"{REG}:511-master"
    after = stored(http, sim, "2026-11-15T08:00:00.000Z")
    assert after["container"]["docker"]["image"] == f"{REG}:510-master"
    assert after["versionInfo"]["lastConfigChangeAt"] == "2026-11-15T08:00:00.000Z"


@pytest.mark.parametrize("spelling", ["2026-11-12T08:00:00.000Z", "2026-11-12T08:00:00Z",
                                      "2026-11-12T09:00:00+01:00", "2026-11-12T08:00:00.000+00:00"])
def test_any_iso_spelling_names_the_same_version(make_sim: MakeSim, http: requests.Session,
                                                 spelling: str) -> None:
    """Timestamps are parsed as instants (state/Timestamp.scala), for lookups and rollbacks."""
    sim = seeded(make_sim)
    assert stored(http, sim, spelling)["version"] == "2026-11-12T08:00:00.000Z"
    r = http.put(sim.url + API, json={"version": spelling})
    assert r.status_code == 200, r.text
    assert get_app(http, sim)["container"]["docker"]["image"] == f"{REG}:510-master"


def test_bad_and_unknown_timestamps(make_sim: MakeSim, http: requests.Session) -> None:
    sim = seeded(make_sim)
    r = http.get(f"{sim.url}{API}/versions/yesterday")
    assert r.status_code == 422
    assert r.json() == {"message": "Invalid timestamp provided 'yesterday'. Expecting ISO-8601 "
                                   "datetime string."}
    r = http.get(f"{sim.url}{API}/versions/2026-11-11T09:00:00+01:00")
    assert r.status_code == 404  # well formed, unknown; the message spells it Marathon's way
    assert r.json() == {"message": "App '/shop/prod/api' does not exist in version "
                                   "2026-11-11T08:00:00.000Z"}
    assert http.put(sim.url + API, json={"version": "nope"}).status_code == 422
    assert http.put(sim.url + API, json={"version": "2001-01-01T00:00:00Z"}).status_code == 404


def test_retention_keeps_the_newest_zk_max_versions(make_sim: MakeSim, clock: FakeClock,
                                                    http: requests.Session) -> None:
    history = [{"version": f"2026-10-{day:02d}T12:00:00Z", "cmd": f"run {day}"}
               for day in range(1, 31)]
    sim = make_sim([docker_app(instances=0)], history={"/shop/prod/api": history},
                   max_versions=10)
    assert http.get(f"{sim.url}/v2/info").json()["zookeeper_config"]["zk_max_versions"] == 10
    versions = http.get(f"{sim.url}{API}/versions").json()["versions"]
    assert len(versions) == 10 and "2026-10-22T12:00:00.000Z" in versions
    assert "2026-10-21T12:00:00.000Z" not in versions  # the oldest are gone
    for i in range(3):  # each ends at once (no instances) and asks for a GC pass
        clock.advance(1)
        http.put(sim.url + API, json={"cmd": f"new {i}"}, params={"force": "true"})
    # the first end ran a pass (back to 10); the GC then rests 30 s: the list is over the cap a while
    versions = http.get(f"{sim.url}{API}/versions").json()["versions"]
    assert len(versions) == 12 and "2026-10-22T12:00:00.000Z" not in versions
    clock.advance(30)
    http.put(sim.url + API, json={"cmd": "after the rest"}, params={"force": "true"})
    versions = http.get(f"{sim.url}{API}/versions").json()["versions"]
    assert len(versions) == 10 and "2026-10-24T12:00:00.000Z" not in versions
    assert versions[0] == get_app(http, sim)["version"]


def test_a_restart_moves_the_config_change_but_not_the_scaling(
        sim: Simulator, clock: FakeClock, http: requests.Session) -> None:
    """state/VersionInfo.scala withRestartChange: version and lastConfigChangeAt only."""
    before = get_app(http, sim)["versionInfo"]
    clock.advance(1)
    r = http.post(f"{sim.url}{API}/restart")
    assert r.status_code == 200
    info = get_app(http, sim)["versionInfo"]
    assert info == {"lastScalingAt": before["lastScalingAt"],
                    "lastConfigChangeAt": r.json()["version"]}


def test_bad_history_is_refused_with_the_app_and_entry(make_sim: MakeSim) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"/shop/prod/api": [{"version": "2026-11-10"}]}, "ISO-8601"),
        ({"/shop/prod/api": [{"version": "2026-11-10T00:00:00Z", "imag": "x"}]}, "imag"),
        ({"/shop/prod/api": [{"version": "2030-01-01T00:00:00Z"}]}, "later than"),
        ({"/shop/prod/other": []}, "not in the apps list"),
        ({"/shop/prod/api": [{"version": "2026-11-10T00:00:00Z", "instances": "2"}]}, "instances"),
    ]
    for history, words in cases:
        with pytest.raises(ValueError, match=words):
            Simulator([docker_app()], history=history, clock=FakeClock(START))


def test_info_does_not_advertise_the_deployment_cap_and_the_403_is_marathons(
        make_sim: MakeSim, http: requests.Session) -> None:
    """api/v2/InfoResource.scala has no max_running_deployments; the 403 text is
    TooManyRunningDeploymentsException's (Exception.scala), verbatim."""
    sim = make_sim([docker_app("/a"), docker_app("/b")], max_running_deployments=1)
    info = http.get(f"{sim.url}/v2/info").json()
    assert "max_running_deployments" not in str(info)
    assert http.put(f"{sim.url}/v2/apps/a", json={"instances": 3}).status_code == 200
    r = http.put(f"{sim.url}/v2/apps/b", json={"instances": 3})
    assert r.status_code == 403
    assert r.json() == {"message": (
        "Max number (1) of running deployments is achieved. Wait for existing deployments to "
        "complete or cancel oneusing force=true parameter. You can increase max deployment "
        "number by using --max_running_deployments parameter but be advised that this can have "
        "negative effects on the performance.")}


def test_a_seeded_task_failure_is_the_apps_last_task_failure(make_sim: MakeSim, http: requests.Session) -> None:
    """`task_failure` on a history entry: a task of that version failed then (a health kill unless
    told); Marathon keeps only the newest (HistoryActor.scala), with that version."""
    history = [{"version": "2026-11-10T23:50:00Z", "image": "registry.example.com/api:9-master",
                "task_failure": "2026-11-10T23:58:00Z"},
               {"version": "2026-11-11T00:20:00Z", "image": "registry.example.com/api:8-master"},
               {"version": "2026-11-09T10:00:00Z", "image": "registry.example.com/api:7-master",
                "task_failure": {"at": "2026-11-09T10:01:00Z", "state": "TASK_FAILED"}}]
    sim = make_sim([docker_app()], history={"/shop/prod/api": history})
    failure = http.get(sim.url + API, params={"embed": "app.lastTaskFailure"}).json()["app"]["lastTaskFailure"]
    assert failure["version"] == "2026-11-10T23:50:00.000Z" and failure["state"] == "TASK_KILLED"
    assert failure["timestamp"] == "2026-11-10T23:58:00.000Z"
    assert failure["message"].startswith("Task was killed since health check failed")
    bad = [{"version": "2026-11-10T23:50:00Z", "task_failure": "2026-11-10T23:00:00Z"}]
    with pytest.raises(ValueError, match="before the version"):
        make_sim([docker_app()], history={"/shop/prod/api": bad})
