"""Contract: tasks, task kills and groups (`api/v2/TasksResource.scala`,
`api/v2/AppTasksResource.scala`, `api/TaskKiller.scala`, `api/v2/GroupsResource.scala`)."""
from __future__ import annotations

import requests

from marathonsim import Simulator

from .conftest import FakeClock, MakeSim, docker_app, get_app

API = "/v2/apps/shop/prod/api"


def test_killing_one_task_relaunches_a_replacement(sim: Simulator, clock: FakeClock,
                                                   http: requests.Session) -> None:
    """DELETE /v2/apps/{id}/tasks/{taskId}: {"task": ...}; the app keeps its instances."""
    before = get_app(http, sim)
    victim = before["tasks"][0]["id"]
    r = http.delete(f"{sim.url}{API}/tasks/{victim}")
    assert r.status_code == 200 and r.json()["task"]["id"] == victim
    app = get_app(http, sim)
    assert victim not in {t["id"] for t in app["tasks"]} and len(app["tasks"]) == 2
    assert app["instances"] == 2 and app["version"] == before["version"]
    assert sim.deployments == []  # a kill is not a deployment
    clock.advance(10)
    assert get_app(http, sim)["tasksHealthy"] == 2
    r = http.delete(f"{sim.url}{API}/tasks/shop_prod_api.instance-nope._app.1")
    assert r.status_code == 404
    assert r.json() == {"message": "Task 'shop_prod_api.instance-nope._app.1' does not exist"}


def test_kill_and_scale_makes_a_scale_deployment(sim: Simulator,
                                                 http: requests.Session) -> None:
    victim = get_app(http, sim)["tasks"][0]["id"]
    r = http.delete(f"{sim.url}{API}/tasks/{victim}", params={"scale": "true"})
    assert r.status_code == 200 and set(r.json()) == {"deploymentId", "version"}
    app = get_app(http, sim)
    assert app["instances"] == 1 and [t["id"] for t in app["tasks"]] != [victim]
    assert app["versionInfo"]["lastScalingAt"] == r.json()["version"]
    r = http.delete(f"{sim.url}{API}/tasks", params={"scale": "true", "wipe": "true"})
    assert r.status_code == 400
    assert r.json() == {"message": "You cannot use scale and wipe at the same time."}


def test_killing_all_tasks_or_those_on_a_host(make_sim: MakeSim,
                                              http: requests.Session) -> None:
    """DELETE /v2/apps/{id}/tasks[?host=]: {"tasks": [killed]}; never deletes the app."""
    sim = make_sim([docker_app(instances=3)])
    tasks = get_app(http, sim)["tasks"]
    r = http.delete(f"{sim.url}{API}/tasks", params={"host": tasks[1]["host"]})
    assert [t["id"] for t in r.json()["tasks"]] == [tasks[1]["id"]]
    r = http.delete(f"{sim.url}{API}/tasks")
    assert r.status_code == 200 and len(r.json()["tasks"]) == 3
    assert http.get(sim.url + API).status_code == 200  # the app is still there
    assert len(get_app(http, sim)["tasks"]) == 3  # replacements


def test_all_tasks_and_bulk_delete(make_sim: MakeSim, clock: FakeClock,
                                   http: requests.Session) -> None:
    sim = make_sim([docker_app("/a"), docker_app("/b", instances=1)])
    tasks = http.get(f"{sim.url}/v2/tasks").json()["tasks"]
    assert sorted(t["appId"] for t in tasks) == ["/a", "/a", "/b"]
    http.delete(f"{sim.url}/v2/apps/b/tasks")  # the replacement stages
    staging = http.get(f"{sim.url}/v2/tasks", params={"status": "staging"}).json()["tasks"]
    assert [t["appId"] for t in staging] == ["/b"]
    running = http.get(f"{sim.url}/v2/tasks", params={"status[]": "running"}).json()["tasks"]
    assert [t["appId"] for t in running] == ["/a", "/a"]
    ids = [tasks[0]["id"], "b.instance-unknown._app.1"]
    r = http.post(f"{sim.url}/v2/tasks/delete", json={"ids": ids})
    assert r.status_code == 200 and [t["id"] for t in r.json()["tasks"]] == [tasks[0]["id"]]
    r = http.post(f"{sim.url}/v2/tasks/delete", json={"ids": [tasks[1]["id"]]},
                  params={"scale": "true"})
    assert set(r.json()) == {"deploymentId", "version"}
    assert get_app(http, sim, "/a")["instances"] == 1
    assert http.post(f"{sim.url}/v2/tasks/delete", json={"id": 1}).status_code == 400


def test_groups_tree(make_sim: MakeSim, http: requests.Session) -> None:
    sim = make_sim([docker_app("/shop/prod/api"), docker_app("/shop/prod/web"),
                    docker_app("/shop/dev/api"), docker_app("/top")])
    root = http.get(f"{sim.url}/v2/groups").json()
    assert root["id"] == "/" and [a["id"] for a in root["apps"]] == ["/top"]
    assert [g["id"] for g in root["groups"]] == ["/shop"]
    shop = root["groups"][0]
    assert [g["id"] for g in shop["groups"]] == ["/shop/dev", "/shop/prod"]
    prod = http.get(f"{sim.url}/v2/groups/shop/prod").json()
    assert [a["id"] for a in prod["apps"]] == ["/shop/prod/api", "/shop/prod/web"]
    assert "tasks" not in prod["apps"][0] and prod["version"]
    r = http.get(f"{sim.url}/v2/groups/nothing")
    assert r.status_code == 404 and r.json() == {"message": "Group '/nothing' does not exist"}
