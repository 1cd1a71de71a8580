"""The Marathon client against the simulator (and `responses` for odd edges): the facts of docs/marathon-facts.md."""

from __future__ import annotations

import copy
from typing import Any, Iterator

import pytest

from fleetrewind.errors import AuthError, MarathonLocked, MarathonRejected, UnreachableError, UsageError, WriteFenced
from fleetrewind.marathon.appdef import SERVER_FIELDS, image_of
from fleetrewind.marathon.authmode import AuthMode
from marathonsim import Simulator
from tests.unit.test_marathon_client import APP_ID, NEW, OLD, PASSWORD, USER, client_for


def docker_app(app_id: str = APP_ID, image: str = OLD, **extra: Any) -> dict[str, Any]:
    app: dict[str, Any] = {
        "id": app_id, "instances": 2, "cpus": 0.5, "mem": 256,
        "container": {
            "type": "DOCKER",
            "docker": {"image": image, "forcePullImage": True,
                       "parameters": [{"key": "log-driver", "value": "json-file"}]},
            "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"}],
            "volumes": [{"containerPath": "/data", "hostPath": "/srv/data", "mode": "RO"}],
        },
        "env": {"JAVA_OPTS": "-Xmx200m"},
        "labels": {"team": "shop"},
        "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}],
    }
    app.update(extra)
    return app


@pytest.fixture
def start_sim() -> Iterator[Any]:
    started: list[Simulator] = []

    def start(apps: list[dict[str, Any]] | None = None, **kwargs: Any) -> Simulator:
        kwargs.setdefault("deploy_seconds", 0.1)
        sim = Simulator(apps if apps is not None else [docker_app()], **kwargs).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def puts(sim: Simulator) -> list[dict[str, Any]]:
    return [r for r in sim.requests if r["method"] == "PUT"]


def test_update_image_sends_the_whole_container_with_only_the_image_changed(start_sim) -> None:
    sim = start_sim()
    client = client_for(sim.url)
    before = client.get_app(APP_ID)

    deployment = client.update_image(before, NEW)

    [put] = puts(sim)
    assert put["path"] == f"/v2/apps{APP_ID}"
    expected = copy.deepcopy(before["container"])
    expected["docker"]["image"] = NEW
    assert put["json"] == {"container": expected}  # whole container; nothing else, no version
    assert deployment and put["query"].get("force") is None
    after = sim.apps[APP_ID]
    assert image_of(after) == NEW
    for key in ("env", "labels", "healthChecks", "instances", "cpus", "mem"):
        assert after[key] == before[key], key
    assert after["container"]["volumes"] == before["container"]["volumes"]
    assert after["container"]["portMappings"] == before["container"]["portMappings"]
    assert after["container"]["docker"]["parameters"] == before["container"]["docker"]["parameters"]


def test_update_image_never_sends_version_or_server_fields(start_sim) -> None:
    """`version` with another field is a 422, alone it is a rollback; status fields are not writable
    (docs/marathon-facts.md, "Writing an app")."""
    sim = start_sim()
    client = client_for(sim.url)
    app = client.get_app(APP_ID)
    assert {"version", "versionInfo", "tasks", "tasksRunning", "deployments"} <= set(app)  # what GET gives

    client.update_image(app, NEW)

    [put] = puts(sim)
    assert not set(put["json"]) & (SERVER_FIELDS | {"id"})
    assert app["container"]["docker"]["image"] == OLD  # the caller's copy is not modified


def test_update_image_keeps_executor_resources(start_sim) -> None:
    """A partial update that leaves executorResources out resets them (docs/marathon-facts.md)."""
    resources = {"cpus": 0.2, "mem": 64, "disk": 10}
    sim = start_sim([docker_app(executorResources=resources)])
    client = client_for(sim.url)

    client.update_image(client.get_app(APP_ID), NEW)

    [put] = puts(sim)
    assert put["json"]["executorResources"] == resources
    assert sim.apps[APP_ID]["executorResources"] == resources


def test_an_app_without_a_docker_container_is_refused_before_any_write(start_sim) -> None:
    sim = start_sim([{"id": "/ds/prod/shop/cron", "cmd": "sleep 100", "instances": 1}])
    client = client_for(sim.url)

    with pytest.raises(UsageError) as info:
        client.update_image(client.get_app("/ds/prod/shop/cron"), NEW)
    assert "no container.docker" in str(info.value)
    assert puts(sim) == []


def test_409_while_a_deployment_holds_the_app_is_marathon_locked_and_force_overrides_it(start_sim) -> None:
    sim = start_sim(deploy_seconds=30)
    client = client_for(sim.url)
    first = client.update_image(client.get_app(APP_ID), NEW)

    with pytest.raises(MarathonLocked) as info:
        client.update_image(client.get_app(APP_ID), OLD)

    assert info.value.exit_code == 3 and info.value.status == 409
    assert first in str(info.value) and APP_ID in str(info.value) and "--force" in str(info.value)
    assert image_of(sim.apps[APP_ID]) == NEW

    second = client.update_image(client.get_app(APP_ID), OLD, force=True)
    assert second != first and puts(sim)[-1]["query"]["force"] == ["true"]
    assert image_of(sim.apps[APP_ID]) == OLD
    assert [d["id"] for d in sim.deployments] == [second]


def test_422_is_marathon_rejected_with_marathons_reason(start_sim) -> None:
    sim = start_sim(invalid_images=["*:bad-*"])
    client = client_for(sim.url)

    with pytest.raises(MarathonRejected) as info:
        client.update_image(client.get_app(APP_ID), "registry.example.com:5000/shop/api:bad-1")

    assert info.value.status == 422 and info.value.exit_code == 1
    assert "Object is not valid" in str(info.value) and "/container/docker/image" in str(info.value)
    assert image_of(sim.apps[APP_ID]) == OLD


def test_basic_auth_with_the_right_password_works_and_a_wrong_one_is_an_auth_error(start_sim) -> None:
    sim = start_sim(auth=(USER, PASSWORD))

    client_for(sim.url, user=USER, password=PASSWORD).ping()
    assert client_for(sim.url, user=USER, password=PASSWORD).list_app_ids() == [APP_ID]

    with pytest.raises(AuthError) as info:
        client_for(sim.url, user=USER, password="wrong-password").list_app_ids()
    assert info.value.exit_code == 4
    assert "refused the credentials (HTTP 401)" in str(info.value) and "wrong-password" not in str(info.value)

    with pytest.raises(AuthError, match="MARATHON_USER/MARATHON_PASSWORD"):
        client_for(sim.url).ping()  # none given: say which variables to set


def test_dcos_logs_in_and_sends_the_token(start_sim) -> None:
    sim = start_sim(auth=(USER, PASSWORD), dcos=True)
    client = client_for(sim.url, user=USER, password=PASSWORD, auth_mode=AuthMode.DCOS)

    assert client.list_app_ids() == [APP_ID]
    client.get_app(APP_ID)

    logins = [r for r in sim.requests if r["path"] == "/acs/api/v1/auth/login"]
    assert len(logins) == 1 and logins[0]["json"]["uid"] == USER


def test_dcos_logs_in_again_once_the_token_expired(start_sim) -> None:
    sim = start_sim(auth=(USER, PASSWORD), dcos=True)
    client = client_for(sim.url, user=USER, password=PASSWORD, auth_mode=AuthMode.DCOS)
    client.list_app_ids()

    sim.expire_tokens()
    app = client.get_app(APP_ID)
    client.update_image(app, NEW)

    assert len([r for r in sim.requests if r["path"] == "/acs/api/v1/auth/login"]) == 2
    assert len(puts(sim)) == 1 and image_of(sim.apps[APP_ID]) == NEW


def test_dcos_wrong_password_is_an_auth_error(start_sim) -> None:
    sim = start_sim(auth=(USER, PASSWORD), dcos=True)

    with pytest.raises(AuthError) as info:
        client_for(sim.url, user=USER, password="nope-nope", auth_mode=AuthMode.DCOS).list_app_ids()
    assert "refused the login of user 'ops'" in str(info.value)


@pytest.mark.network
def test_marathon_down_is_unreachable() -> None:
    with pytest.raises(UnreachableError) as info:
        client_for("http://127.0.0.1:9", timeout=1).list_app_ids()
    assert info.value.exit_code == 4 and "cannot reach Marathon at http://127.0.0.1:9" in str(info.value)


def test_a_put_whose_answer_is_lost_is_not_resent_and_is_found_through_the_app(start_sim) -> None:
    """The PUT reached Marathon, the connection broke before the answer (docs/marathon-facts.md, "Deployments")."""
    sim = start_sim(deploy_seconds=5)
    client = client_for(sim.url)
    app = client.get_app(APP_ID)
    sim.set_fault(method="PUT", drop=1, after=True)

    deployment = client.update_image(app, NEW)

    assert len(puts(sim)) == 1
    assert image_of(sim.apps[APP_ID]) == NEW
    assert deployment == sim.deployments[0]["id"]  # the deployment it started, found on the app


def test_a_put_that_never_reached_marathon_is_not_resent_either(start_sim) -> None:
    sim = start_sim()
    client = client_for(sim.url)
    app = client.get_app(APP_ID)
    sim.set_fault(method="PUT", drop=1)

    with pytest.raises(UnreachableError):
        client.update_image(app, NEW)

    assert len(puts(sim)) == 1
    assert image_of(sim.apps[APP_ID]) == OLD


def test_a_500_after_the_change_was_applied_is_found_through_the_app(start_sim) -> None:
    sim = start_sim(deploy_seconds=5)
    client = client_for(sim.url)
    app = client.get_app(APP_ID)
    sim.set_fault(method="PUT", fail_next=1, status=500, after=True)

    assert client.update_image(app, NEW) == sim.deployments[0]["id"]
    assert len(puts(sim)) == 1


def test_a_500_that_changed_nothing_says_so(start_sim) -> None:
    sim = start_sim()
    client = client_for(sim.url)
    app = client.get_app(APP_ID)
    sim.set_fault(method="PUT", fail_next=1, status=500)

    with pytest.raises(UnreachableError, match="nothing was changed"):
        client.update_image(app, NEW)
    assert len(puts(sim)) == 1 and image_of(sim.apps[APP_ID]) == OLD


def test_reads_are_retried_on_a_500(start_sim) -> None:
    sim = start_sim()
    sim.set_fault(method="GET", path_prefix="/v2/apps", fail_next=2, status=503)

    assert client_for(sim.url).list_app_ids() == [APP_ID]
    assert len([r for r in sim.requests if r["path"] == "/v2/apps"]) == 3


def test_the_id_filter_is_not_used_so_a_prefix_twin_is_never_taken(start_sim) -> None:
    """The app's own URL, not ?id= (a case-insensitive substring), names the app read (docs/marathon-facts.md)."""
    sim = start_sim([docker_app(), docker_app("/ds/prod/shop/api-v2", image="r/api-v2:1")])
    client = client_for(sim.url)

    assert image_of(client.get_app(APP_ID)) == OLD
    assert sorted(client.list_app_ids()) == [APP_ID, "/ds/prod/shop/api-v2"]


def test_a_put_whose_fence_says_no_is_never_written_on_a_fresh_or_a_kept_connection(start_sim) -> None:
    sim = start_sim()
    client = client_for(sim.url)
    app = client.get_app(APP_ID)  # the connection is kept alive: the fence is asked on it too
    asked: list[bool] = []

    def fence() -> bool:
        asked.append(True)
        return False

    with pytest.raises(WriteFenced, match=f"PUT /v2/apps{APP_ID} was not sent to Marathon: the lock it was to be "
                                          "sent under could no longer be proved held"):
        client.update_image(app, NEW, fence=fence)
    with pytest.raises(WriteFenced):
        client_for(sim.url).restore_version(APP_ID, "2026-11-19T10:00:00.000Z", image=OLD, fence=fence)
    assert puts(sim) == [] and image_of(sim.apps[APP_ID]) == OLD and len(asked) == 2
    assert [r["method"] for r in sim.requests] == ["GET"], "not even a look for a lost write"
    client.update_image(app, NEW, fence=lambda: True)
    assert len(puts(sim)) == 1 and image_of(sim.apps[APP_ID]) == NEW


def test_a_fence_that_closes_while_the_put_is_half_written_stops_it_there(start_sim) -> None:
    """The fence is asked before each write of the request, the body's too: a holder stopped after writing a
    PUT's head and resumed past its lease writes nothing more, and Marathon drops the request cut short."""
    sim = start_sim()
    client = client_for(sim.url)
    app = client.get_app(APP_ID)
    asked: list[bool] = []
    client.update_image(app, NEW, fence=lambda: asked.append(True) or True)  # how often one PUT asks
    assert len(asked) >= 3, "before the connection is used, before its head and before its body"
    calls: list[bool] = []

    def closes_at_the_last_question() -> bool:
        calls.append(True)
        return len(calls) < len(asked)

    with pytest.raises(WriteFenced):
        client.update_image(app, OLD, fence=closes_at_the_last_question)
    assert len(puts(sim)) == 1 and image_of(sim.apps[APP_ID]) == NEW, "the half-written PUT changed nothing"
    client.update_image(app, OLD, force=True)  # (the first PUT's deployment may still run)
    assert len(puts(sim)) == 2 and image_of(sim.apps[APP_ID]) == OLD, "the client goes on, on a new connection"
