"""Contract: a Marathon client nobody here wrote (marathon-python, PyPI `marathon` 0.13.0)
drives the simulator.

marathon-python 0.13.0 predates Python 3.10: its JSON encoders use `collections.Iterable`,
gone since 3.10. The test patches the client (never the simulator) back to
`collections.abc.Iterable`. Its models build objects with `cls(**fields)`, so a key the
simulator sends that Marathon does not (such as a `max_running_deployments` in /v2/info)
breaks the client: these tests catch that. One mismatch is the client's own: it expects
`taskStats`, while Marathon's AppInfo carries `tasksStats` (`docs/.../v2/types/app.raml`),
so the task-stats embed is left out here; and its queue model lacks Marathon 1.11's `role`,
which the test drops before the client parses it.
"""
from __future__ import annotations

import collections
import collections.abc
import threading
from typing import Any, Iterator

import pytest
from marathon import MarathonClient
from marathon.exceptions import MarathonHttpError, NotFoundError
from marathon.models import MarathonApp
from marathon.models.queue import MarathonQueueItem
from marathon.models.events import MarathonDeploymentSuccess, MarathonStatusUpdateEvent

from marathonsim import Simulator

from .conftest import FakeClock, MakeSim, docker_app

APP_ID = "/shop/prod/api"
REG = "registry.example.com/api"


@pytest.fixture(autouse=True)
def client_on_python_311(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collections, "Iterable", collections.abc.Iterable, raising=False)
    # Marathon 1.11's QueueApp has `role` (docs/.../v2/types/queue.raml,
    # raml/QueueInfoConversion.scala); the 0.13.0 client's model does not take it.
    parse = MarathonQueueItem.from_json.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(MarathonQueueItem, "from_json", classmethod(
        lambda cls, attributes: parse(cls, {k: v for k, v in attributes.items() if k != "role"})))


@pytest.fixture
def fleet(make_sim: MakeSim) -> Simulator:
    history = {APP_ID: [{"version": "2026-11-10T08:00:00Z", "image": f"{REG}:500-master"},
                        {"version": "2026-11-12T09:00:00+01:00", "image": f"{REG}:510-master"}]}
    return make_sim([docker_app(image=f"{REG}:512-master", version="2026-11-17T08:00:00Z"),
                     docker_app("/shop/prod/web", instances=1)], history=history)


def client(sim: Simulator) -> Any:
    return MarathonClient(sim.url, timeout=5)


def image(app: Any) -> str:
    return str(app.container.docker.image)


def test_info_leader_and_ping(fleet: Simulator) -> None:
    c = client(fleet)
    info = c.get_info()
    assert info.name == "marathon" and info.version.startswith("1.11.")
    assert info.zookeeper_config.zk_max_versions == 50
    assert c.get_leader() == {"leader": fleet.url.split("://")[1]}
    assert c.ping() == b'"pong"'  # the client asks for application/json


def test_apps_with_embeds(fleet: Simulator) -> None:
    c = client(fleet)
    apps = c.list_apps(embed_tasks=True, embed_counts=True, embed_deployments=True,
                       embed_readiness=True, embed_last_task_failure=True)
    assert [a.id for a in apps] == [APP_ID, "/shop/prod/web"]
    api = apps[0]
    assert (api.instances, api.tasks_running, api.tasks_healthy) == (2, 2, 2)
    assert len(api.tasks) == 2 and api.tasks[0].app_id == APP_ID
    assert api.tasks[0].health_check_results[0].alive is True
    app = c.get_app(APP_ID, embed_tasks=True)
    assert image(app) == f"{REG}:512-master" and app.deployments == []
    assert [a.id for a in c.list_apps(app_id="/shop/prod/web")] == ["/shop/prod/web"]
    with pytest.raises(NotFoundError):
        c.get_app("/shop/prod/nope")


def test_update_deploys_and_the_deployment_is_listed(fleet: Simulator,
                                                     clock: FakeClock) -> None:
    c = client(fleet)
    app = c.get_app(APP_ID)
    app.container.docker.image = f"{REG}:513-master"
    result = c.update_app(APP_ID, app)
    assert set(result) >= {"deploymentId", "version"}
    [dep] = c.list_deployments()
    assert dep.id == result["deploymentId"] and dep.affected_apps == [APP_ID]
    assert (dep.current_step, dep.total_steps) == (1, 1)
    assert dep.current_actions[0].action == "RestartApplication"
    with pytest.raises(MarathonHttpError) as refused:  # locked by the running deployment
        c.scale_app(APP_ID, instances=5)
    assert refused.value.status_code == 409
    clock.advance(10)
    assert c.list_deployments() == []
    assert image(c.get_app(APP_ID)) == f"{REG}:513-master"
    scaled = c.scale_app(APP_ID, instances=3)
    assert scaled["deploymentId"]
    reverted = c.delete_deployment(scaled["deploymentId"])
    assert set(reverted) == {"deploymentId", "version"}


@pytest.mark.parametrize("spelling", ["2026-11-12T08:00:00.000Z", "2026-11-12T08:00:00Z",
                                      "2026-11-12T09:00:00+01:00"])
def test_versions_in_any_iso_spelling_and_rollback(fleet: Simulator, spelling: str) -> None:
    c = client(fleet)
    assert c.list_versions(APP_ID) == ["2026-11-17T08:00:00.000Z", "2026-11-12T08:00:00.000Z",
                                       "2026-11-10T08:00:00.000Z"]
    old = c.get_version(APP_ID, spelling)
    assert isinstance(old, MarathonApp) and image(old) == f"{REG}:510-master"
    result = c.rollback_app(APP_ID, spelling)
    assert result["version"] != spelling  # a rollback is a new version
    assert image(c.get_app(APP_ID)) == f"{REG}:510-master"


def test_tasks_and_task_kills(fleet: Simulator, clock: FakeClock) -> None:
    c = client(fleet)
    tasks = c.list_tasks()
    assert sorted(t.app_id for t in tasks) == [APP_ID, APP_ID, "/shop/prod/web"]
    mine = c.list_tasks(APP_ID)
    killed = c.kill_task(APP_ID, mine[0].id)
    assert killed.id == mine[0].id
    assert mine[0].id not in {t.id for t in c.list_tasks(APP_ID)}
    assert len(c.list_tasks(APP_ID)) == 2  # replaced
    result = c.kill_given_tasks([c.list_tasks("/shop/prod/web")[0].id])
    assert result is True or result  # the client returns True (or the body) on 200
    gone = c.kill_tasks(APP_ID, scale=True)
    assert gone  # the scale deployment's result
    assert c.get_app(APP_ID).instances == 0


def test_queue_and_reset_delay(make_sim: MakeSim, clock: FakeClock) -> None:
    sim = make_sim([docker_app(instances=1)], capacity={"cpus": 0.6, "mem": 4096})
    c = client(sim)
    c.scale_app(APP_ID, instances=2)
    clock.advance(3)
    [item] = c.list_queue()
    assert item.app.id == APP_ID and item.count == 1
    assert item.delay.overdue is True
    sim.set_capacity(None)
    sim.set_knobs(APP_ID, launch_failure="Failed to pull image", launch_backoff=True)
    c.scale_app(APP_ID, instances=3, force=True)
    clock.advance(5.5)  # the new instance failed at 5 s: in its 1 s launch delay
    [item] = c.list_queue()
    assert item.delay.overdue is False and item.delay.time_left_seconds >= 0
    assert c.get_app(APP_ID).last_task_failure.message == "Failed to pull image"
    c.reset_delay(APP_ID)
    assert c.list_queue() == []


def test_groups(fleet: Simulator) -> None:
    c = client(fleet)
    [shop] = c.list_groups()
    assert shop.id == "/shop"
    prod = c.get_group("/shop/prod")
    assert sorted(a.id for a in prod.apps) == [APP_ID, "/shop/prod/web"]


def test_the_event_stream(make_sim: MakeSim) -> None:
    sim = make_sim(clock=None, deploy_seconds=0.2)
    c = client(sim)
    seen: list[Any] = []
    attached, done = threading.Event(), threading.Event()

    def read(events: Iterator[Any]) -> None:
        for event in events:
            seen.append(event)
            attached.set()
            if isinstance(event, MarathonDeploymentSuccess):
                done.set()
                return

    stream = c.event_stream(event_types=["event_stream_attached", "deployment_success",
                                         "status_update_event"])
    reader = threading.Thread(target=read, args=(stream,), daemon=True)
    reader.start()
    assert attached.wait(timeout=10)  # listening before the change
    app = c.get_app(APP_ID)
    app.container.docker.image = f"{REG}:2-master"
    c.update_app(APP_ID, app)
    assert done.wait(timeout=10)
    assert any(isinstance(e, MarathonStatusUpdateEvent) for e in seen)


def test_what_is_not_served_answers_501(fleet: Simulator) -> None:
    c = client(fleet)
    for call in (lambda: c.delete_leader(), lambda: c.get_metrics(),
                 lambda: c.list_event_subscriptions()):
        with pytest.raises(MarathonHttpError) as refused:
            call()
        assert refused.value.status_code == 501
        assert "does not implement" in refused.value.error_message
