"""Contract: the read endpoints (Marathon's state/PathId.scala, AppsResource.index, AppsResource.show, SystemResource.scala, InfoResource.scala)."""
from __future__ import annotations

import requests

from marathonsim import Simulator

from .conftest import MakeSim, docker_app, get_app


def test_ping_is_text_pong_or_json_string_or_204(sim: Simulator, http: requests.Session) -> None:
    """SystemResource.scala: text/plain by default, the JSON string for application/json, else 204."""
    r = http.get(f"{sim.url}/ping")
    assert (r.status_code, r.text, r.headers["Content-Type"]) == (200, "pong", "text/plain")
    r = http.get(f"{sim.url}/ping", headers={"Accept": "application/json"})
    assert r.json() == "pong"
    assert http.get(f"{sim.url}/ping", headers={"Accept": "image/png"}).status_code == 204


def test_info_and_leader(sim: Simulator, http: requests.Session) -> None:
    """InfoResource.scala: /v2/info has name and a 1.11 version; api/RestResource.scala: /v2/leader; leader header."""
    r = http.get(f"{sim.url}/v2/info")
    info = r.json()
    assert info["name"] == "marathon" and info["version"].startswith("1.11.")
    assert info["elected"] is True and info["zookeeper_config"]["zk_max_versions"] == 50
    leader = sim.url.split("://")[1]
    assert info["leader"] == leader
    assert http.get(f"{sim.url}/v2/leader").json() == {"leader": leader}
    assert r.headers["X-Marathon-Leader"] == sim.url


def test_list_always_embeds_counts_and_deployments_but_not_tasks(
        sim: Simulator, http: requests.Session) -> None:
    """AppsResource.index: counts and deployments always embedded; tasks only with embed=apps.tasks."""
    apps = http.get(f"{sim.url}/v2/apps").json()["apps"]
    assert [a["id"] for a in apps] == ["/shop/prod/api"]
    app = apps[0]
    assert (app["tasksStaged"], app["tasksRunning"], app["tasksHealthy"],
            app["tasksUnhealthy"], app["deployments"]) == (0, 2, 2, 0, [])
    assert "tasks" not in app
    for embed in ("apps.tasks", "app.tasks", "tasks"):
        tasks = http.get(f"{sim.url}/v2/apps", params={"embed": embed}).json()["apps"][0]["tasks"]
        assert len(tasks) == 2
    r = http.get(f"{sim.url}/v2/apps", params={"embed": ["apps.counts", "apps.bogus"]})
    assert r.status_code == 200  # unknown embed values are ignored


def test_list_with_no_apps(make_sim: MakeSim, http: requests.Session) -> None:
    """AppsResource.index: no apps gives {"apps": []}."""
    assert http.get(f"{make_sim([]).url}/v2/apps").json() == {"apps": []}


def test_id_filter_is_a_case_insensitive_substring(make_sim: MakeSim,
                                                   http: requests.Session) -> None:
    """AppsResource.index: ?id=/shop/prod/api also matches api-v2 and api/worker."""
    ids = ["/shop/prod/api", "/shop/prod/api-v2", "/shop/prod/api/worker", "/shop/prod/web",
           "/x/shop/prod/api"]
    sim = make_sim([docker_app(i) for i in ids])
    found = [a["id"] for a in http.get(f"{sim.url}/v2/apps", params={"id": "/SHOP/prod/API"})
             .json()["apps"]]
    assert found == ["/shop/prod/api", "/shop/prod/api-v2", "/shop/prod/api/worker",
                     "/x/shop/prod/api"]


def test_cmd_and_label_filters(make_sim: MakeSim, http: requests.Session) -> None:
    """AppsResource.index: cmd substring; label selectors key, ==, !=, in, notin, comma = AND."""
    sim = make_sim([
        {"id": "/a", "cmd": "python -m Server", "labels": {"team": "shop", "tier": "web"}},
        {"id": "/b", "cmd": "sleep 1", "labels": {"team": "shop", "tier": "db"}},
        {"id": "/c", "args": ["x"], "labels": {"team": "ops", "a,b": "1"}},
    ])

    def ids(**params: str) -> list[str]:
        return [a["id"] for a in http.get(f"{sim.url}/v2/apps", params=params).json()["apps"]]

    assert ids(cmd="server") == ["/a"]
    assert ids(label="team") == ["/a", "/b", "/c"]
    assert ids(label="team==shop,tier!=web") == ["/b"]
    assert ids(label="tier in (web, db)") == ["/a", "/b"]
    assert ids(label="tier notin (web)") == ["/b", "/c"]
    assert ids(label="a\\,b==1") == ["/c"]
    assert http.get(f"{sim.url}/v2/apps", params={"label": "team=="}).status_code == 200
    assert http.get(f"{sim.url}/v2/apps", params={"label": "(("}).status_code == 422


def test_single_app_is_wrapped_in_app_with_tasks(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.show: {"app": AppInfo}; tasks, counts, deployments always embedded."""
    r = http.get(f"{sim.url}/v2/apps/shop/prod/api")
    assert set(r.json()) == {"app"}
    app = r.json()["app"]
    assert app["id"] == "/shop/prod/api" and app["version"]
    assert app["versionInfo"] == {"lastScalingAt": app["version"],
                                  "lastConfigChangeAt": app["version"]}
    assert app["container"]["docker"]["image"] == "registry.example.com/api:1-master"
    assert app["deployments"] == []
    task = app["tasks"][0]
    assert task["state"] == "TASK_RUNNING" and task["version"] == app["version"]
    assert task["appId"] == "/shop/prod/api" and task["id"].endswith("._app.1")
    assert task["servicePorts"] == [app["container"]["portMappings"][0]["servicePort"]]
    assert task["healthCheckResults"][0]["alive"] is True
    assert "lastTaskFailure" not in app  # only once a task failed


def test_output_is_normalized_with_defaults(make_sim: MakeSim, http: requests.Session) -> None:
    """types/app.raml: defaults filled, deprecated inputs moved and never written back,
    service ports assigned for 0, empty optional arrays left out."""
    sim = make_sim([{"id": "legacy", "cmd": "run", "uris": ["http://x/a.tgz"], "ports": [0],
                     "env": {}, "healthChecks": []}])
    app = get_app(http, sim, "/legacy")
    assert app["fetch"] == [{"uri": "http://x/a.tgz", "extract": True, "executable": False,
                             "cache": False}]
    assert app["portDefinitions"][0]["port"] >= 10000
    assert not {"uris", "ports", "env", "healthChecks"} & set(app)
    assert (app["instances"], app["cpus"], app["mem"], app["role"]) == (1, 1.0, 128.0, "*")
    assert app["upgradeStrategy"] == {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0}
    assert get_app(http, sim, "/legacy") == app  # reading twice gives the same definition


def test_unknown_app_is_404_with_marathon_message(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.show: 404 {"message": "App '/x' does not exist"}."""
    r = http.get(f"{sim.url}/v2/apps/shop/prod/nope")
    assert r.status_code == 404
    assert r.json() == {"message": "App '/shop/prod/nope' does not exist"}


def test_ids_are_canonical_paths(sim: Simulator, http: requests.Session) -> None:
    """state/PathId.scala: leading, trailing and doubled slashes and . / .. resolve away."""
    for path in ("/v2/apps//shop/prod//api/", "/v2/apps/shop/./prod/x/../api"):
        r = http.get(sim.url + path)
        assert r.status_code == 200 and r.json()["app"]["id"] == "/shop/prod/api"


def test_group_listing_and_tasks_endpoint(make_sim: MakeSim, http: requests.Session) -> None:
    """state/PathId.scala: GET /v2/apps/<group>/* gives {"*": [...]}; AppsResource.scala: /tasks gives tasks."""
    sim = make_sim([docker_app("/shop/prod/api"), docker_app("/shop/prod/web"),
                    docker_app("/shop/dev/api")])
    group = http.get(f"{sim.url}/v2/apps/shop/prod/*").json()
    assert [a["id"] for a in group["*"]] == ["/shop/prod/api", "/shop/prod/web"]
    assert http.get(f"{sim.url}/v2/apps/nothing/*").status_code == 404
    tasks = http.get(f"{sim.url}/v2/apps/shop/dev/api/tasks").json()["tasks"]
    assert len(tasks) == 2 and {t["appId"] for t in tasks} == {"/shop/dev/api"}


def test_unknown_path_and_method(sim: Simulator, http: requests.Session) -> None:
    """Unknown paths are 404 JSON; known but unsimulated endpoints say so with 501."""
    assert http.get(f"{sim.url}/v3/nothing").status_code == 404
    assert http.post(f"{sim.url}/v2/deployments").status_code == 405
    for method, path in (("GET", "/v2/pods"), ("POST", "/v2/groups"), ("PUT", "/v2/apps")):
        r = http.request(method, sim.url + path, json=[])
        assert r.status_code == 501 and "does not implement" in r.json()["message"]
