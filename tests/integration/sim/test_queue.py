"""Contract: cluster capacity, the launch queue and launch backoff.

Instances that do not fit wait in `GET /v2/queue` with `delay`, `since` and
`processedOffersSummary`; failed launches back off by backoffSeconds * backoffFactor^n up to
maxLaunchDelaySeconds and leave lastTaskFailure; `DELETE /v2/queue/{id}/delay` launches at
once (`api/v2/QueueResource.scala`, `core/launchqueue/impl/RateLimiter.scala`,
`docs/docs/rest-api/public/api/v2/types/queue.raml`). docs/simulator.md, "Capacity and the launch
queue", describes the simulated cluster.
"""
from __future__ import annotations

from typing import Any

import requests

from marathonsim import Simulator

from .conftest import FakeClock, MakeSim, docker_app, get_app, put_image

API = "/v2/apps/shop/prod/api"
TIGHT = {"cpus": 1.5, "mem": 4096, "agents": 2}  # 0.75 cpus per agent; tasks ask 0.5


def queue(http: requests.Session, sim: Simulator) -> list[dict[str, Any]]:
    r = http.get(f"{sim.url}/v2/queue")
    assert r.status_code == 200
    entries: list[dict[str, Any]] = r.json()["queue"]
    return entries


def rejected(entry: dict[str, Any]) -> dict[str, int]:
    summary = entry["processedOffersSummary"]["rejectSummaryLastOffers"]
    return {r["reason"]: r["declined"] for r in summary if r["declined"]}


def test_instances_that_do_not_fit_wait_in_the_queue_with_the_reasons(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    sim = make_sim(capacity=TIGHT)
    assert queue(http, sim) == []
    put_image(http, sim, "registry.example.com/api:2")
    clock.advance(5.5)
    [entry] = queue(http, sim)
    assert entry["count"] == 2 and entry["app"]["id"] == "/shop/prod/api"
    assert entry["delay"] == {"timeLeftSeconds": 0, "overdue": True}
    summary = entry["processedOffersSummary"]
    assert summary["processedOffersCount"] == 12  # 2 agents, an offer each per second
    assert summary["unusedOffersCount"] == 12
    assert rejected(entry) == {"InsufficientCpus": 12}
    reasons = [r["reason"] for r in summary["rejectSummaryLastOffers"]]
    assert reasons[:5] == ["UnfulfilledRole", "UnfulfilledConstraint",
                           "NoCorrespondingReservationFound", "AgentMaintenance",
                           "InsufficientCpus"]
    app = get_app(http, sim)
    assert len(app["tasks"]) == 2 and app["tasksStaged"] == 0  # waiting is not a task
    assert len(sim.deployments) == 1
    clock.advance(600)
    assert len(sim.deployments) == 1  # minimumHealthCapacity 1: no old task may go first
    sim.set_capacity({"cpus": 4, "mem": 4096, "agents": 2})
    assert queue(http, sim) == []
    clock.advance(10)
    assert sim.deployments == [] and get_app(http, sim)["tasksHealthy"] == 2


def test_count_is_every_instance_not_launched_yet_old_ones_included(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """A 1-instance app's count during a change is 2 only when its old instance never launched either:
    Marathon counts every scheduled instance of the app (`core/launchqueue/LaunchStats.scala`) and keeps
    an old one that is not healthy until a new one is (`core/deployment/impl/TaskReplaceActor.scala`)."""
    sim = make_sim([docker_app(instances=1)], capacity={"cpus": 0.5, "mem": 4096, "agents": 1})
    r = http.post(f"{sim.url}/v2/apps/shop/prod/api/restart", timeout=5)
    assert r.status_code == 200, r.text
    clock.advance(2)
    [entry] = queue(http, sim)
    assert entry["count"] == 1  # the old task runs and holds the only room; its replacement waits

    never = make_sim([docker_app(instances=1)], capacity={"cpus": 64, "mem": 65536, "agents": 4},
                     knobs={"/shop/prod/api": {"decline_reason": "InsufficientCpus"}})
    assert [e["count"] for e in queue(http, never)] == [1]  # never launched
    put_image(http, never, "registry.example.com/api:2")
    clock.advance(2)
    assert [e["count"] for e in queue(http, never)] == [2]  # the old one and its replacement


def test_memory_and_declined_offers(make_sim: MakeSim, clock: FakeClock,
                                    http: requests.Session) -> None:
    sim = make_sim([docker_app("/a", instances=1), docker_app("/b", instances=0)],
                   capacity={"cpus": 8, "mem": 700, "agents": 1})
    http.put(f"{sim.url}/v2/apps/b", json={"instances": 1})
    [entry] = queue(http, sim)
    assert rejected(entry) == {"InsufficientMemory": 1}
    sim.set_knobs("/a", decline_reason="UnfulfilledConstraint")
    http.put(f"{sim.url}/v2/apps/a", json={"instances": 2})
    by_app = {e["app"]["id"]: e for e in queue(http, sim)}
    assert rejected(by_app["/a"]) == {"UnfulfilledConstraint": 1}


def test_a_failing_launch_backs_off_and_says_why(make_sim: MakeSim, clock: FakeClock,
                                                 http: requests.Session) -> None:
    """Knob launch_failure: every launch fails with the message; delays 10, 20, 40, 60 (cap)."""
    app = docker_app(instances=1, backoffSeconds=10, backoffFactor=2, maxLaunchDelaySeconds=60)
    sim = make_sim([app])
    sim.set_knobs("/shop/prod/api", launch_failure="Failed to pull image: manifest unknown",
                  launch_backoff=True)
    result = put_image(http, sim, "registry.example.com/api:2").json()
    clock.advance(6)  # failed at 5 s (c/2), delayed 10 s
    failure = get_app(http, sim)["lastTaskFailure"]
    assert failure["message"] == "Failed to pull image: manifest unknown"
    assert failure["state"] == "TASK_FAILED" and failure["version"] == result["version"]
    [entry] = queue(http, sim)
    assert entry["delay"] == {"timeLeftSeconds": 9, "overdue": False}
    assert entry["count"] == 1
    clock.advance(9 + 5 + 1)  # relaunched at 15, failed at 20, delayed 20 s
    assert queue(http, sim)[0]["delay"]["timeLeftSeconds"] == 19
    assert get_app(http, sim)["lastTaskFailure"]["taskId"].endswith("._app.2")
    clock.advance(3600)
    delays = {queue(http, sim)[0]["delay"]["timeLeftSeconds"] if queue(http, sim) else None}
    assert delays <= {None, *range(0, 61)}  # capped at maxLaunchDelaySeconds
    assert len(sim.deployments) == 1


def test_reset_delay_launches_at_once(make_sim: MakeSim, clock: FakeClock,
                                      http: requests.Session) -> None:
    sim = make_sim([docker_app(instances=1, backoffSeconds=100)], failing_images=["*:crash"],
                   knobs={"*": {"launch_backoff": True}})
    put_image(http, sim, "registry.example.com/api:crash")
    clock.advance(6)
    assert queue(http, sim)[0]["delay"]["overdue"] is False
    r = http.delete(f"{sim.url}{API.replace('/apps', '/queue')}/delay")
    assert (r.status_code, r.content) == (204, b"")
    assert queue(http, sim) == []
    staging = [t for t in get_app(http, sim)["tasks"] if t["state"] == "TASK_STAGING"]
    assert len(staging) == 1 and staging[0]["id"].endswith("._app.2")
    r = http.delete(f"{sim.url}/v2/queue/shop/prod/api/delay")  # nothing queued now
    assert r.status_code == 404
    assert r.json() == {"message": "Application /shop/prod/api not found in tasks queue."}


def test_bad_capacity_and_knobs_are_refused(sim: Simulator, http: requests.Session) -> None:
    for bad in ({"cpus": 1}, {"cpus": -1, "mem": 1}, {"cpus": 1, "mem": 1, "agents": 0}):
        r = http.post(f"{sim.url}/_sim/capacity", json=bad)
        assert r.status_code == 400, bad
    r = http.post(f"{sim.url}/_sim/knobs", json={"app": "*", "knobs": {"never_redy": True}})
    assert r.status_code == 400 and "never_redy" in r.json()["message"]
    r = http.post(f"{sim.url}/_sim/knobs", json={"app": "/shop/prod/api",
                                                 "knobs": {"decline_reason": "Nope"}})
    assert r.status_code == 400
    r = http.post(f"{sim.url}/_sim/knobs", json={"app": "*", "knobs": {"never_ready": True}})
    assert r.status_code == 200 and r.json()["knobs"] == {"*": {"never_ready": True}}
