"""Contract: app writes (Marathon's AppsResource.replace, AppsResource.scala, MarathonExceptionMapper.scala)."""
from __future__ import annotations

import requests

from marathonsim import Simulator

from .conftest import FakeClock, MakeSim, docker_app, get_app, put_image

URL_API = "/v2/apps/shop/prod/api"


def test_put_image_change_answers_200_deployment_result(
        sim: Simulator, http: requests.Session) -> None:
    """AppsResource.replace: 200 {"deploymentId", "version"} + Marathon-Deployment-Id; the definition
    changes at once, and the returned version is the app's new version."""
    before = get_app(http, sim)
    r = put_image(http, sim, "registry.example.com/api:2-master")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"deploymentId", "version"}
    assert r.headers["Marathon-Deployment-Id"] == body["deploymentId"]
    after = get_app(http, sim)
    assert after["container"]["docker"]["image"] == "registry.example.com/api:2-master"
    assert after["version"] == body["version"] > before["version"]
    assert after["versionInfo"] == {"lastScalingAt": body["version"],
                                    "lastConfigChangeAt": body["version"]}
    assert after["deployments"] == [{"id": body["deploymentId"]}]


def test_partial_update_is_a_one_level_merge(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.replace: absent keys keep their values; `container` is replaced whole."""
    r = http.put(sim.url + URL_API, json={"container": {"docker": {"image": "x:2"}}})
    assert r.status_code == 200
    app = get_app(http, sim)
    assert app["cpus"] == 0.5 and app["instances"] == 2  # untouched top-level keys kept
    assert app["healthChecks"][0]["path"] == "/health"
    assert "portMappings" not in app["container"]  # dropped with the old container
    assert app["container"]["docker"] == {"image": "x:2", "forcePullImage": False,
                                          "privileged": False, "parameters": []}


def test_partial_update_false_replaces_and_resets_to_defaults(
        sim: Simulator, http: requests.Session) -> None:
    """AppsResource.replace: partialUpdate=false parses a complete new App; absent -> default."""
    r = http.put(sim.url + URL_API, params={"partialUpdate": "false"},
                 json={"cmd": "sleep 100", "version": "2000-01-01T00:00:00.000Z"})
    assert r.status_code == 200  # the version is ignored in this mode, no rollback
    app = get_app(http, sim)
    assert app["cmd"] == "sleep 100" and "container" not in app
    assert (app["instances"], app["cpus"], app["mem"]) == (1, 1.0, 128.0)


def test_put_creates_an_absent_app_with_201_and_location(
        sim: Simulator, http: requests.Session) -> None:
    """AppsResource.replace: 201, same body, Location header; the body is a full new app."""
    r = http.put(f"{sim.url}/v2/apps/shop/prod/new", json=docker_app("/ignored/by/path"))
    assert r.status_code == 201
    assert set(r.json()) == {"deploymentId", "version"}
    assert r.headers["Location"].endswith("/v2/apps/shop/prod/new")
    assert r.headers["Marathon-Deployment-Id"] == r.json()["deploymentId"]
    assert get_app(http, sim, "/shop/prod/new")["id"] == "/shop/prod/new"  # path id decides


def test_rollback_with_version_only_makes_a_new_version(
        sim: Simulator, clock: FakeClock, http: requests.Session) -> None:
    """AppsResource.replace: {"version": V} deploys V's definition under a NEW version."""
    v1 = get_app(http, sim)["version"]
    put_image(http, sim, "registry.example.com/api:2-master")
    clock.advance(60)
    r = http.put(sim.url + URL_API, json={"version": v1, "id": "/shop/prod/api"})
    assert r.status_code == 200
    app = get_app(http, sim)
    assert app["container"]["docker"]["image"] == "registry.example.com/api:1-master"
    assert app["version"] == r.json()["version"] != v1
    assert app["versionInfo"]["lastConfigChangeAt"] == app["version"]


def test_rollback_to_unknown_version_is_404(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.replace: the version must exist in /versions, else 404 App '/x' does not exist."""
    r = http.put(sim.url + URL_API, json={"version": "2001-01-01T00:00:00.000Z"})
    assert r.status_code == 404
    assert r.json() == {"message": "App '/shop/prod/api' does not exist"}
    r = http.put(f"{sim.url}/v2/apps/absent", json={"version": "2001-01-01T00:00:00.000Z"})
    assert r.status_code == 404


def test_version_with_other_fields_is_422(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.replace: sending a GET'd app back (with version) is refused."""
    app = get_app(http, sim)
    r = http.put(sim.url + URL_API, json=app)
    assert r.status_code == 422
    assert r.json() == {"message": "Object is not valid", "details": [
        {"path": "/", "errors": ["The 'version' field may only be combined with the 'id' field."]}]}
    r = http.patch(sim.url + URL_API, json={"version": app["version"], "instances": 3})
    assert r.status_code == 422
    assert get_app(http, sim)["instances"] == 2


def test_status_fields_on_input_are_ignored(sim: Simulator, http: requests.Session) -> None:
    """types/app.raml: tasksRunning, deployments, tasks... are silently ignored on input."""
    r = http.put(sim.url + URL_API, json={
        "instances": 3, "tasksRunning": 99, "deployments": [{"id": "x"}], "tasks": [],
        "lastTaskFailure": {}, "tasksStats": {}, "unknownField": 1})
    assert r.status_code == 200
    app = get_app(http, sim)
    assert app["instances"] == 3 and "unknownField" not in app
    assert app["deployments"] == [{"id": r.json()["deploymentId"]}]


def test_partial_update_drops_executor_resources_and_resource_limits(
        make_sim: MakeSim, http: requests.Session) -> None:
    """AppsResource.replace: these come from the body only on a partial update."""
    sim = make_sim([docker_app(resourceLimits={"cpus": 2}, executorResources={"mem": 64})])
    put_image(http, sim, "registry.example.com/api:2-master")
    app = get_app(http, sim)
    assert "resourceLimits" not in app and "executorResources" not in app


def test_put_while_deploying_is_409_with_exact_body(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.replace: 409 with the literal message and the deployments list."""
    first = put_image(http, sim, "registry.example.com/api:2-master").json()["deploymentId"]
    r = put_image(http, sim, "registry.example.com/api:3-master")
    assert r.status_code == 409
    assert r.json() == {
        "message": "App is locked by one or more deployments. Override with the option "
                   "'?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
        "deployments": [{"id": first}]}
    assert get_app(http, sim)["container"]["docker"]["image"].endswith(":2-master")


def test_force_overrides_the_running_deployment(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.replace: force=true cancels the running deployment (no rollback) and starts anew."""
    first = put_image(http, sim, "registry.example.com/api:2-master").json()["deploymentId"]
    r = put_image(http, sim, "registry.example.com/api:3-master", force="true")
    assert r.status_code == 200
    ids = [d["id"] for d in http.get(f"{sim.url}/v2/deployments").json()]
    assert ids == [r.json()["deploymentId"]] and first not in ids
    assert get_app(http, sim)["container"]["docker"]["image"].endswith(":3-master")


def test_no_op_put_has_no_steps_and_no_lock(sim: Simulator, http: requests.Session) -> None:
    """DeploymentsResource.scala: empty steps are dropped; a no-op change keeps the app's version."""
    before = get_app(http, sim)
    r = http.put(sim.url + URL_API, json={"instances": 2})
    assert r.status_code == 200 and r.json()["version"] > before["version"]
    assert get_app(http, sim)["version"] == before["version"]
    assert http.get(f"{sim.url}/v2/deployments").json() == []


def test_validation_errors_use_marathon_shapes(make_sim: MakeSim, http: requests.Session) -> None:
    """MarathonExceptionMapper.scala: 422 Object is not valid with {path, errors}; sections 1 and 2 rules."""
    sim = make_sim(invalid_images=["*:bad-*"])

    def details(path: str, body: object) -> list[dict[str, object]]:
        r = http.put(sim.url + path, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["message"] == "Object is not valid"
        found: list[dict[str, object]] = r.json()["details"]
        return found

    assert details(URL_API, {"container": {"type": "DOCKER", "docker": {"image": ""}}}) == [
        {"path": "/container/docker/image", "errors": ["must not be empty"]}]
    assert details(URL_API, {"container": {"type": "DOCKER", "docker": {"image": "a:bad-1"}}}
                   )[0]["path"] == "/container/docker/image"
    assert details("/v2/apps/Shop_Prod", {"cmd": "x"})[0]["path"] == "/id"
    assert details("/v2/apps/shop/versions", {"cmd": "x"})[0]["path"] == "/id"
    assert details("/v2/apps/new", {"instances": 1}) == [{"path": "/", "errors": [
        "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."]}]
    assert details("/v2/apps/new", {"cmd": "a", "args": ["b"]})[0]["path"] == "/"
    assert "Shop_Prod" not in [a["id"] for a in sim.apps.values()]


def test_bad_json_is_400_with_string_details_and_types_are_422(
        sim: Simulator, http: requests.Session) -> None:
    """MarathonExceptionMapper.scala: unparseable -> 400 details string; wrong type -> 422 list."""
    r = http.put(sim.url + URL_API, data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["message"] == "Invalid JSON" and isinstance(r.json()["details"], str)
    r = http.put(sim.url + URL_API, json={"instances": "three"})
    assert r.status_code == 422
    assert r.json() == {"message": "Invalid JSON", "details": [
        {"path": "/instances", "errors": ["error.expected.jsnumber"]}]}
    r = http.put(sim.url + URL_API, json={"instances": -1})
    assert r.json()["details"] == [{"path": "/instances", "errors": ["error.min"]}]


def test_patch_merges_and_never_creates(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.scala: PATCH = PUT partialUpdate=true, but an unknown app gives 404."""
    r = http.patch(sim.url + URL_API, json={"instances": 4})
    assert r.status_code == 200 and set(r.json()) == {"deploymentId", "version"}
    assert get_app(http, sim)["instances"] == 4
    r = http.patch(f"{sim.url}/v2/apps/shop/prod/absent", json={"cmd": "x"})
    assert r.status_code == 404
    assert r.json() == {"message": "App '/shop/prod/absent' does not exist"}


def test_post_creates_with_appinfo_or_409(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.scala: POST answers 201 with the AppInfo (counts 0, deployments) or 409."""
    r = http.post(f"{sim.url}/v2/apps", json=docker_app("/shop/prod/web"))
    assert r.status_code == 201
    info = r.json()
    assert info["id"] == "/shop/prod/web" and info["tasksRunning"] == 0
    assert info["deployments"] == [{"id": r.headers["Marathon-Deployment-Id"]}]
    r = http.post(f"{sim.url}/v2/apps", json=docker_app("/shop/prod/web"))
    assert r.status_code == 409
    assert r.json() == {"message": "An app with id [/shop/prod/web] already exists."}


def test_delete_app_defaults_to_force(sim: Simulator, http: requests.Session) -> None:
    """AppsResource.scala: DELETE gives a DeploymentResult, the app is gone at once, and it
    overrides a running deployment (force defaults to true in code)."""
    put_image(http, sim, "registry.example.com/api:2-master")
    r = http.delete(sim.url + URL_API)
    assert r.status_code == 200 and set(r.json()) == {"deploymentId", "version"}
    assert http.get(sim.url + URL_API).status_code == 404
    assert http.get(f"{sim.url}/v2/deployments").json() == []


def test_restart_makes_a_new_version_and_respects_locks(
        sim: Simulator, http: requests.Session) -> None:
    """AppsResource.scala: POST /restart gives a DeploymentResult and a new config version."""
    before = get_app(http, sim)["version"]
    r = http.post(f"{sim.url}{URL_API}/restart")
    assert r.status_code == 200
    app = get_app(http, sim)
    assert app["version"] == r.json()["version"] != before
    assert app["versionInfo"]["lastConfigChangeAt"] == app["version"]
    assert http.post(f"{sim.url}{URL_API}/restart").status_code == 409
    assert http.post(f"{sim.url}{URL_API}/restart", params={"force": "true"}).status_code == 200


def test_max_running_deployments_is_403(make_sim: MakeSim, http: requests.Session) -> None:
    """AppsResource.replace: --max_running_deployments reached gives 403."""
    sim = make_sim([docker_app("/a"), docker_app("/b")], max_running_deployments=1)
    assert put_image(http, sim, "x:2", app_id="/a").status_code == 200
    r = put_image(http, sim, "x:2", app_id="/b")
    assert r.status_code == 403 and r.json()["message"].startswith("Max number (1) of running")
