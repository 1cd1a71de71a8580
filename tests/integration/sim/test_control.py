"""Contract: the simulator's own control API (/_sim/) and the Python conveniences."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from marathonsim import Simulator

from .conftest import FakeClock, MakeSim, counts, docker_app, get_app, put_image


def test_requests_are_recorded_without_credentials(make_sim: MakeSim,
                                                   http: requests.Session) -> None:
    """What a client test asserts: 'no PUT was made', 'the PUT had the whole container and
    no version'."""
    sim = make_sim(auth=("ops", "s3cret"))
    container = get_app_auth(http, sim)["container"]
    container["docker"]["image"] = "registry.example.com/api:2-master"
    http.put(f"{sim.url}/v2/apps/shop/prod/api", json={"container": container},
             params={"force": "true"}, auth=("ops", "s3cret"))
    put = [r for r in sim.requests if r["method"] == "PUT"]
    assert len(put) == 1
    assert put[0]["path"] == "/v2/apps/shop/prod/api" and put[0]["query"] == {"force": ["true"]}
    assert put[0]["json"] == {"container": container} and "version" not in put[0]["json"]
    assert "Authorization" not in put[0]["headers"]
    remote = http.get(f"{sim.url}/_sim/requests").json()["requests"]
    assert [r["method"] for r in remote] == ["GET", "PUT"]
    assert "s3cret" not in str(remote)
    assert http.post(f"{sim.url}/_sim/reset-requests").status_code == 204
    assert sim.requests == []


def get_app_auth(http: requests.Session, sim: Simulator) -> dict[str, Any]:
    app: dict[str, Any] = http.get(f"{sim.url}/v2/apps/shop/prod/api",
                                   auth=("ops", "s3cret")).json()["app"]
    return app


def test_unhealthy_images_can_be_set_at_run_time(
        sim: Simulator, clock: FakeClock, http: requests.Session) -> None:
    r = http.post(f"{sim.url}/_sim/unhealthy", json={"images": ["*:2-*"]})
    assert r.status_code == 200
    assert http.get(f"{sim.url}/_sim/images").json()["unhealthy"] == ["*:2-*"]
    put_image(http, sim, "registry.example.com/api:2-master")
    clock.advance(10)  # running at 5, first health check at 10
    assert counts(get_app(http, sim)) == (0, 4, 2, 2)
    assert http.post(f"{sim.url}/_sim/unhealthy", json={"images": "x"}).status_code == 400


def test_invalid_images_via_control_and_python(sim: Simulator, http: requests.Session) -> None:
    http.post(f"{sim.url}/_sim/invalid", json={"images": ["*:nope"]})
    assert put_image(http, sim, "x:nope").status_code == 422
    sim.set_images(invalid=[])
    assert put_image(http, sim, "x:nope").status_code == 200


def test_apps_snapshot(make_sim: MakeSim, http: requests.Session) -> None:
    sim = make_sim([docker_app("/a"), docker_app("/b", health=False)])
    apps = sim.apps
    assert sorted(apps) == ["/a", "/b"]
    assert apps["/a"]["tasksHealthy"] == 2 and apps["/b"]["tasksHealthy"] == 0
    assert len(apps["/a"]["tasks"]) == 2
    assert http.get(f"{sim.url}/_sim/apps").json()["apps"] == apps


def test_unknown_control_endpoint(sim: Simulator, http: requests.Session) -> None:
    r = http.get(f"{sim.url}/_sim/nothing")
    assert r.status_code == 404 and "known" in r.json()["message"]
    assert http.post(f"{sim.url}/_sim/expire-tokens").status_code == 409  # not DC/OS mode


@pytest.mark.network
def test_context_manager_and_bad_arguments() -> None:
    with Simulator([docker_app()], deploy_seconds=0.1) as sim:
        assert requests.get(f"{sim.url}/ping", timeout=5).text == "pong"
    for kwargs in ({"deploy_seconds": -1}, {"certfile": "c.pem"}):
        try:
            Simulator([], **kwargs)
        except ValueError:
            continue
        raise AssertionError(f"{kwargs} accepted")
    try:
        Simulator([{"id": "/Bad_Id", "cmd": "x"}])
    except ValueError as exc:
        assert "/id" in str(exc)
    else:
        raise AssertionError("invalid app accepted")
