"""Contract: health checks and readiness on Marathon's timing, driven by a fake clock.

Marathon ignores failed checks until the first success or the end of gracePeriodSeconds,
kills a task after maxConsecutiveFailures counted failures, keeps a killed task
TASK_KILLING for taskKillGracePeriodSeconds, relaunches after the launch delay, and holds a
deployment step until new tasks are ready (`core/health/impl/HealthCheckActor.scala`,
`core/deployment/impl/ReadinessBehavior.scala`). docs/simulator.md, "Health timing",
describes the simulated timeline.
"""
from __future__ import annotations

from typing import Any

import requests

from marathonsim import Simulator
from marathonsim.clock import iso, parse_ms

from .conftest import FakeClock, MakeSim, docker_app, get_app, put_image

API = "/v2/apps/shop/prod/api"
MARATHON_TIMING = {"*": {"health_grace": True, "launch_backoff": True}}
CHECK = {"protocol": "MESOS_HTTP", "path": "/health", "gracePeriodSeconds": 30,
         "intervalSeconds": 10, "maxConsecutiveFailures": 2}


def new_tasks(http: requests.Session, sim: Simulator, version: str) -> list[dict[str, Any]]:
    return [t for t in get_app(http, sim)["tasks"] if t["version"] == version]


def result(task: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = task["healthCheckResults"][0]
    return found


def test_failures_are_ignored_in_the_grace_period_then_kill_and_relaunch(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """Running from 5 s; checks at 10, 20, 30, ... s; failures count from 30 s after
    running; the second counted one (50 s) kills; TASK_KILLING 3 s; relaunch after 1 s."""
    sim = make_sim([docker_app(instances=1, healthChecks=[CHECK], taskKillGracePeriodSeconds=3)],
                   unhealthy_images=["*:bad"], knobs=MARATHON_TIMING)
    version = put_image(http, sim, "registry.example.com/api:bad").json()["version"]
    clock.advance(10)
    [task] = new_tasks(http, sim, version)
    assert result(task)["alive"] is False and result(task)["consecutiveFailures"] == 0
    assert "lastFailure" not in result(task)  # ignored: Marathon does not record it
    clock.advance(30)  # 40 s: the check 35 s after running counts
    [task] = new_tasks(http, sim, version)
    assert result(task)["consecutiveFailures"] == 1 and result(task)["lastFailureCause"]
    assert task["state"] == "TASK_RUNNING"
    clock.advance(10)  # 50 s: the second counted failure kills
    [task] = new_tasks(http, sim, version)
    assert task["state"] == "TASK_KILLING" and task["id"].endswith("._app.1")
    clock.advance(3)  # 53 s: gone; in the launch delay (backoffSeconds 1), not listed
    assert new_tasks(http, sim, version) == []
    [queued] = http.get(f"{sim.url}/v2/queue").json()["queue"]
    assert queued["delay"] == {"timeLeftSeconds": 1, "overdue": False}
    clock.advance(1)  # 54 s: the next incarnation stages
    [task] = new_tasks(http, sim, version)
    assert task["state"] == "TASK_STAGING" and task["id"].endswith("._app.2")
    assert len(sim.deployments) == 1  # the old task keeps serving; the deployment stays
    kills = [e for e in sim.events if e["eventType"] == "unhealthy_instance_kill_event"]
    assert len(kills) == 1 and kills[0]["taskId"].endswith("._app.1")
    assert kills[0]["appId"] == "/shop/prod/api" and kills[0]["version"] == version


def test_a_slow_first_success_is_not_healthy_yet_until_it_passes(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """Knob health_delay_seconds: checks fail (ignored, within the grace period) until 40 s
    after running; the first passing check is the one at 45 s; then the deployment ends."""
    sim = make_sim([docker_app(instances=1, healthChecks=[CHECK])],
                   knobs={**MARATHON_TIMING, "/shop/prod/api": {"health_delay_seconds": 40}})
    version = put_image(http, sim, "registry.example.com/api:2").json()["version"]
    clock.advance(25)
    [task] = new_tasks(http, sim, version)
    assert (result(task)["alive"], result(task)["consecutiveFailures"]) == (False, 0)
    assert len(sim.deployments) == 1
    clock.advance(24.9)
    assert len(sim.deployments) == 1
    clock.advance(0.1)  # 50 s = 5 s staging + 45 s
    [task] = new_tasks(http, sim, version)
    assert result(task)["alive"] is True
    assert result(task)["firstSuccess"] == iso(parse_ms(task["stagedAt"]) / 1000 + 50)
    assert sim.deployments == []


def test_a_grace_period_shorter_than_the_start_kills_it_every_time(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    check = dict(CHECK, gracePeriodSeconds=20, maxConsecutiveFailures=3)
    sim = make_sim([docker_app(instances=1, healthChecks=[check])],
                   knobs={"*": {"health_delay_seconds": 100, "health_grace": True,
                                "launch_backoff": True}})
    version = put_image(http, sim, "registry.example.com/api:2").json()["version"]
    clock.advance(5 + 45)  # counted failures at 25, 35, 45 s after running: killed
    assert new_tasks(http, sim, version) == []
    clock.advance(600)
    assert len(sim.deployments) == 1
    assert any(e["eventType"] == "unhealthy_instance_kill_event" for e in sim.events)


def test_without_the_grace_knob_failures_count_from_the_first_check(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """The simulator's default (no health_grace knob): no grace period, no launch delay."""
    sim = make_sim([docker_app(instances=1, healthChecks=[CHECK])], unhealthy_images=["*:bad"])
    version = put_image(http, sim, "registry.example.com/api:bad").json()["version"]
    clock.advance(10)
    [task] = new_tasks(http, sim, version)
    assert result(task)["consecutiveFailures"] == 1 and result(task)["lastFailureCause"]
    clock.advance(10)  # the second failure kills; relaunched at once
    [task] = new_tasks(http, sim, version)
    assert task["state"] == "TASK_STAGING" and task["id"].endswith("._app.2")
    assert http.get(f"{sim.url}/v2/queue").json() == {"queue": []}


def test_default_timing_is_unchanged_without_knobs(sim: Simulator, clock: FakeClock,
                                                   http: requests.Session) -> None:
    """No knob: staging c/2, running, the first check passes at c (10 s here)."""
    version = put_image(http, sim, "registry.example.com/api:2").json()["version"]
    clock.advance(9.9)
    assert all("healthCheckResults" not in t for t in new_tasks(http, sim, version))
    clock.advance(0.1)
    assert sim.deployments == []
    assert all(result(t)["alive"] for t in new_tasks(http, sim, version))


READY = [{"name": "readinessCheck", "protocol": "HTTP", "path": "/ready", "portName": "http",
          "intervalSeconds": 30, "timeoutSeconds": 10, "preserveLastResponse": True}]


def test_readiness_holds_the_step_until_new_tasks_are_ready(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    sim = make_sim([docker_app(instances=1, readinessChecks=READY)],
                   knobs={"/shop/prod/api": {"ready_delay_seconds": 30}})
    put_image(http, sim, "registry.example.com/api:2")
    clock.advance(10)  # healthy, not ready
    [dep] = http.get(f"{sim.url}/v2/deployments").json()
    [check] = dep["currentActions"][0]["readinessCheckResults"]
    assert check["ready"] is False and check["name"] == "readinessCheck"
    assert check["lastResponse"]["status"] == 503 and check["taskId"].endswith("._app.1")
    app = get_app(http, sim, embed="app.readiness")
    assert app["readinessCheckResults"] == [check]
    clock.advance(25)  # running at 5 + 30 s
    assert http.get(f"{sim.url}/v2/deployments").json() == []


def test_each_readiness_check_reports_under_its_own_name_and_keeps_its_answer_only_when_asked(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """One result per task and check, named as the app names the check (`ReadinessCheckExecutor.scala`);
    lastResponse only with preserveLastResponse (`ReadinessCheckResult.scala`); no name is "readinessCheck"."""
    checks = [{"name": "warmup", "protocol": "HTTP", "path": "/warm", "portName": "http", "preserveLastResponse": True},
              {"name": "caches", "protocol": "HTTP", "path": "/caches", "portName": "http"},
              {"protocol": "HTTP", "path": "/ready", "portName": "http"}]
    sim = make_sim([docker_app(instances=1, readinessChecks=checks)], knobs={"/shop/prod/api": {"never_ready": True}})
    put_image(http, sim, "registry.example.com/api:2")
    clock.advance(10)
    [dep] = http.get(f"{sim.url}/v2/deployments").json()
    results = dep["currentActions"][0]["readinessCheckResults"]
    assert [r["name"] for r in results] == ["warmup", "caches", "readinessCheck"]
    assert len({r["taskId"] for r in results}) == 1 and not any(r["ready"] for r in results)
    assert results[0]["lastResponse"]["status"] == 503
    assert "lastResponse" not in results[1] and "lastResponse" not in results[2]


def test_readiness_that_never_turns_ready_holds_the_deployment_forever(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    sim = make_sim([docker_app(instances=1, readinessChecks=READY)])
    sim.set_knobs("/shop/prod/api", never_ready=True)
    put_image(http, sim, "registry.example.com/api:2")
    clock.advance(3600)
    [dep] = http.get(f"{sim.url}/v2/deployments").json()
    assert [r["ready"] for r in dep["currentActions"][0]["readinessCheckResults"]] == [False]
    app = get_app(http, sim)
    assert app["tasksHealthy"] == 2  # healthy, old and new: readiness is what holds it


def test_a_deployment_killing_old_tasks_shows_task_killing(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """taskKillGracePeriodSeconds: an old task killed by the restart is TASK_KILLING."""
    sim = make_sim([docker_app(instances=1, taskKillGracePeriodSeconds=5)])
    old = get_app(http, sim)["tasks"][0]["id"]
    put_image(http, sim, "registry.example.com/api:2")
    clock.advance(10)
    states = {t["id"]: t["state"] for t in get_app(http, sim)["tasks"]}
    assert states[old] == "TASK_KILLING" and sim.deployments == []
    assert get_app(http, sim)["tasksRunning"] == 1
    clock.advance(5)
    assert old not in {t["id"] for t in get_app(http, sim)["tasks"]}
    statuses = [e["taskStatus"] for e in sim.events
                if e["eventType"] == "status_update_event" and e["taskId"] == old]
    assert statuses == ["TASK_KILLING", "TASK_KILLED"]


def test_a_kill_for_failed_health_checks_is_the_last_task_failure(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """HistoryActor.scala stores an UnhealthyInstanceKillEvent as the app's TaskFailure
    (TaskFailure.scala: TASK_KILLED, "Task was killed since health check failed. Reason: ...", at
    the check's lastFailure, with the app version); none before the kill."""
    sim = make_sim([docker_app(instances=1, healthChecks=[CHECK])], unhealthy_images=["*:bad"],
                   knobs=MARATHON_TIMING)
    put = put_image(http, sim, "registry.example.com/api:bad")
    version = put.json()["version"]
    clock.advance(40)
    assert "lastTaskFailure" not in get_app(http, sim)  # failing checks, not killed yet
    clock.advance(10)  # 50 s: killed
    failure = get_app(http, sim)["lastTaskFailure"]
    assert failure["state"] == "TASK_KILLED" and failure["version"] == version
    assert failure["message"] == "Task was killed since health check failed. Reason: Connection refused"
    assert abs(parse_ms(failure["timestamp"]) - parse_ms(version) - 50_000) < 10  # the 50 s check
    assert failure["taskId"].endswith("._app.1")
    clock.advance(60)  # the next incarnation is killed too: the newest failure replaces it
    assert get_app(http, sim)["lastTaskFailure"]["taskId"].endswith("._app.2")
