"""Contract: deployments over time (Marathon's DeploymentsResource.scala, core/appinfo/TaskCounts.scala, docs/simulator.md).

Each new task takes deploy_seconds (10 s here, on a fake clock) to become ready: with health
checks it stages for half of it, runs in its grace period, then turns healthy.
"""
from __future__ import annotations

import time
from typing import Any

import requests

from marathonsim import Simulator

from .conftest import FakeClock, MakeSim, counts, docker_app, get_app, put_image

API = "/v2/apps/shop/prod/api"


def deployments(http: requests.Session, sim: Simulator) -> list[dict[str, Any]]:
    r = http.get(f"{sim.url}/v2/deployments")
    assert r.status_code == 200
    found: list[dict[str, Any]] = r.json()
    return found


def test_deployment_list_shape(sim: Simulator, http: requests.Session) -> None:
    """DeploymentsResource.scala: id, version, affectedApps, steps, currentActions, currentStep, totalSteps."""
    assert deployments(http, sim) == []
    result = put_image(http, sim, "registry.example.com/api:2-master").json()
    assert deployments(http, sim) == [{
        "id": result["deploymentId"], "version": result["version"],
        "affectedApps": ["/shop/prod/api"], "affectedPods": [],
        "steps": [{"actions": [{"action": "RestartApplication", "app": "/shop/prod/api"}]}],
        "currentActions": [{"action": "RestartApplication", "app": "/shop/prod/api",
                            "readinessCheckResults": []}],
        "currentStep": 1, "totalSteps": 1}]


def test_steps_per_kind_of_change(make_sim: MakeSim, http: requests.Session) -> None:
    """DeploymentsResource.scala: new app [Start][Scale], scale change [Scale]."""
    sim = make_sim([docker_app()])
    http.put(f"{sim.url}/v2/apps/shop/prod/new", json=docker_app("/shop/prod/new"))
    http.put(sim.url + API, json={"instances": 3})
    by_app = {d["affectedApps"][0]: d for d in deployments(http, sim)}
    new = by_app["/shop/prod/new"]
    assert [s["actions"][0]["action"] for s in new["steps"]] == [
        "StartApplication", "ScaleApplication"]
    assert (new["currentStep"], new["totalSteps"]) == (2, 2)
    assert new["currentActions"][0]["action"] == "ScaleApplication"
    assert by_app["/shop/prod/api"]["steps"] == [
        {"actions": [{"action": "ScaleApplication", "app": "/shop/prod/api"}]}]


def test_rolling_restart_timeline_with_health_checks(
        sim: Simulator, clock: FakeClock, http: requests.Session) -> None:
    """core/appinfo/TaskCounts.scala: counts cover old and new tasks; old ones go once new are healthy."""
    new_version = put_image(http, sim, "registry.example.com/api:2-master").json()["version"]
    app = get_app(http, sim)
    assert counts(app) == (2, 2, 2, 0)  # 2 new staging, 2 old running and healthy
    clock.advance(5)
    app = get_app(http, sim, embed="app.taskStats")
    assert counts(app) == (0, 4, 2, 0)  # new ones running, no health result yet (grace)
    stats = app["tasksStats"]
    assert stats["withLatestConfig"]["stats"]["counts"] == {
        "staged": 0, "running": 2, "healthy": 0, "unhealthy": 0}
    assert stats["withOutdatedConfig"]["stats"]["counts"]["healthy"] == 2
    new_tasks = [t for t in app["tasks"] if t["version"] == new_version]
    assert len(new_tasks) == 2 and all("healthCheckResults" not in t for t in new_tasks)
    clock.advance(5)
    app = get_app(http, sim)
    assert counts(app) == (0, 2, 2, 0)
    assert {t["version"] for t in app["tasks"]} == {new_version}
    assert app["deployments"] == [] and deployments(http, sim) == []


def test_without_health_checks_healthy_is_always_zero(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """core/appinfo/TaskCounts.scala: no checks -> no health results, tasksHealthy = tasksUnhealthy = 0."""
    sim = make_sim([docker_app(health=False)])
    assert counts(get_app(http, sim)) == (0, 2, 0, 0)
    put_image(http, sim, "registry.example.com/api:2-master")
    clock.advance(9.9)
    assert counts(get_app(http, sim)) == (2, 2, 0, 0)
    clock.advance(0.1)
    app = get_app(http, sim)
    assert counts(app) == (0, 2, 0, 0) and app["deployments"] == []
    assert all("healthCheckResults" not in t for t in app["tasks"])


def test_unhealthy_image_never_finishes(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """core/appinfo/TaskCounts.scala, docs/simulator.md: a failing health check -> tasksUnhealthy, kill and relaunch, and
    the deployment stays forever; old tasks keep serving (minimumHealthCapacity 1)."""
    sim = make_sim(unhealthy_images=["*:bad-*"])
    put_image(http, sim, "registry.example.com/api:bad-1")
    clock.advance(10)  # running from 5, the first (failing) check at 10
    app = get_app(http, sim)
    assert counts(app) == (0, 4, 2, 2)
    bad = [t for t in app["tasks"] if t["healthCheckResults"][0]["alive"] is False]
    assert len(bad) == 2 and bad[0]["healthCheckResults"][0]["consecutiveFailures"] >= 1
    clock.advance(3600)
    app = get_app(http, sim)
    assert len(app["deployments"]) == 1 and len(deployments(http, sim)) == 1
    assert app["tasksHealthy"] == 2  # the old version's tasks
    assert any(not t["id"].endswith("._app.1") for t in app["tasks"])  # relaunched


def test_image_that_never_runs_sets_last_task_failure(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """A bad image keeps restaging, sets lastTaskFailure, never ends. An unhealthy image on
    an app without health checks behaves like this too."""
    sim = make_sim([docker_app(health=False)], unhealthy_images=["*:bad-*"])
    result = put_image(http, sim, "registry.example.com/api:bad-1").json()
    clock.advance(600)
    app = get_app(http, sim)
    assert counts(app) == (2, 2, 0, 0)  # restaging at once: no launch_backoff knob
    failure = app["lastTaskFailure"]
    assert failure["state"] == "TASK_FAILED" and failure["appId"] == "/shop/prod/api"
    assert failure["version"] == result["version"]
    assert set(failure) == {"appId", "host", "message", "state", "taskId", "slaveId",
                            "timestamp", "version"}
    assert [d["id"] for d in deployments(http, sim)] == [result["deploymentId"]]


def test_failing_images_on_an_app_with_health_checks(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    sim = make_sim(failing_images=["*:crash"])
    put_image(http, sim, "registry.example.com/api:crash")
    clock.advance(100)
    app = get_app(http, sim)
    assert counts(app) == (2, 2, 2, 0) and "lastTaskFailure" in app


def test_upgrade_strategy_sets_the_waves(make_sim: MakeSim, clock: FakeClock,
                                         http: requests.Session) -> None:
    """docs/simulator.md: old tasks are killed respecting minimumHealthCapacity; with 0.5 and
    maximumOverCapacity 0, four instances are replaced two at a time."""
    strategy = {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.0}
    sim = make_sim([docker_app(instances=4, upgradeStrategy=strategy)])
    put_image(http, sim, "registry.example.com/api:2-master")
    assert counts(get_app(http, sim)) == (2, 2, 2, 0)  # 2 old killed at once, 2 new staged
    clock.advance(10)
    assert counts(get_app(http, sim)) == (2, 2, 2, 0)  # wave 1 healthy, old gone, wave 2
    assert len(deployments(http, sim)) == 1
    clock.advance(10)
    assert counts(get_app(http, sim)) == (0, 4, 4, 0) and deployments(http, sim) == []


def test_scaling_up_and_down(sim: Simulator, clock: FakeClock, http: requests.Session) -> None:
    """DeploymentsResource.scala, core/appinfo/TaskCounts.scala: scale up launches tasks of the app; scale down kills youngest first."""
    http.put(sim.url + API, json={"instances": 4})
    assert counts(get_app(http, sim)) == (2, 2, 2, 0)
    clock.advance(10)
    app = get_app(http, sim)
    assert counts(app) == (0, 4, 4, 0) and app["deployments"] == []
    oldest = sorted(t["stagedAt"] for t in app["tasks"])[:1]
    http.put(sim.url + API, json={"instances": 1})
    app = get_app(http, sim)
    assert counts(app) == (0, 1, 1, 0) and [t["stagedAt"] for t in app["tasks"]] == oldest


def test_delete_deployment_reverts(sim: Simulator, clock: FakeClock,
                                   http: requests.Session) -> None:
    """DeploymentsResource.scala: DELETE without force -> 200 + a new revert deployment back to the
    definition before; the cancelled one leaves the list."""
    first = put_image(http, sim, "registry.example.com/api:2-master").json()["deploymentId"]
    clock.advance(5)
    r = http.delete(f"{sim.url}/v2/deployments/{first}")
    assert r.status_code == 200 and set(r.json()) == {"deploymentId", "version"}
    assert r.headers["Marathon-Deployment-Id"] == r.json()["deploymentId"]
    assert [d["id"] for d in deployments(http, sim)] == [r.json()["deploymentId"]]
    app = get_app(http, sim)
    assert app["container"]["docker"]["image"].endswith(":1-master")
    assert app["version"] == r.json()["version"]  # a new version, like a rollback
    clock.advance(10)
    app = get_app(http, sim)
    assert app["deployments"] == [] and counts(app) == (0, 2, 2, 0)
    assert {t["version"] for t in app["tasks"]} == {r.json()["version"]}


def test_delete_deployment_with_force_just_drops_it(
        sim: Simulator, clock: FakeClock, http: requests.Session) -> None:
    """DeploymentsResource.scala: force=true -> 202, no body, no revert; tasks left mixed and the
    definition stays at the new config."""
    first = put_image(http, sim, "registry.example.com/api:2-master").json()["deploymentId"]
    r = http.delete(f"{sim.url}/v2/deployments/{first}", params={"force": "true"})
    assert (r.status_code, r.content) == (202, b"")
    assert deployments(http, sim) == []
    clock.advance(10)
    app = get_app(http, sim)
    assert app["container"]["docker"]["image"].endswith(":2-master")
    assert len({t["version"] for t in app["tasks"]}) == 2 and len(app["tasks"]) == 4


def test_delete_unknown_deployment_is_404(sim: Simulator, http: requests.Session) -> None:
    r = http.delete(f"{sim.url}/v2/deployments/nope")
    assert r.status_code == 404
    assert r.json() == {"message": "DeploymentPlan nope does not exist"}


def test_reverting_a_creation_deletes_the_app(sim: Simulator, http: requests.Session) -> None:
    """DeploymentsResource.scala: if the original deployment created the app, the revert deletes it."""
    r = http.put(f"{sim.url}/v2/apps/shop/prod/new", json=docker_app("/shop/prod/new"))
    assert http.delete(f"{sim.url}/v2/deployments/{r.json()['deploymentId']}").status_code == 200
    assert http.get(f"{sim.url}/v2/apps/shop/prod/new").status_code == 404


def test_forced_override_replaces_every_older_task(
        sim: Simulator, clock: FakeClock, http: requests.Session) -> None:
    """AppsResource.replace: force cancels without rollback; the new restart replaces old and
    half-started tasks alike."""
    put_image(http, sim, "registry.example.com/api:2-master")
    clock.advance(5)
    v3 = put_image(http, sim, "registry.example.com/api:3-master", force="true").json()["version"]
    clock.advance(10)
    app = get_app(http, sim)
    assert {t["version"] for t in app["tasks"]} == {v3} and counts(app) == (0, 2, 2, 0)


def test_real_clock_deployment_finishes_after_deploy_seconds(
        make_sim: MakeSim, http: requests.Session) -> None:
    """docs/simulator.md with the system clock: a 0.2 s deployment is gone soon after."""
    sim = make_sim(clock=None, deploy_seconds=0.2)
    started = time.monotonic()
    put_image(http, sim, "registry.example.com/api:2-master")
    while deployments(http, sim):
        assert time.monotonic() - started < 5
        time.sleep(0.05)
    assert time.monotonic() - started >= 0.19
    assert counts(get_app(http, sim)) == (0, 2, 2, 0)
