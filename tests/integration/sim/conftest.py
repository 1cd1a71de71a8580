"""Fixtures for the simulator's contract tests: a started Simulator and a fake clock.

Deployment timing is tested with a fake clock (no sleeping): the simulator computes task
states lazily from launch times and the clock, so moving the clock moves the fleet.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterator

import pytest
import requests

from marathonsim import Simulator

MakeSim = Callable[..., Simulator]
START = 1_795_000_000.0  # 2026-11-18, a fixed "now" for the fake clock


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def docker_app(app_id: str = "/shop/prod/api", image: str = "registry.example.com/api:1-master",
               instances: int = 2, health: bool = True, **extra: Any) -> dict[str, Any]:
    """An app definition as a user writes it (types/app.raml's DOCKER example)."""
    app: dict[str, Any] = {
        "id": app_id, "instances": instances, "cpus": 0.5, "mem": 512,
        "container": {"type": "DOCKER",
                      "docker": {"image": image, "forcePullImage": False},
                      "portMappings": [{"containerPort": 8080, "hostPort": 0,
                                        "protocol": "tcp", "name": "http"}],
                      "volumes": []},
        "networks": [{"mode": "container/bridge"}],
    }
    if health:
        app["healthChecks"] = [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}]
    app.update(extra)
    return app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_sim(clock: FakeClock) -> Iterator[MakeSim]:
    """Start simulators (fake clock, 10 s deployments unless told) and stop them after."""
    started: list[Simulator] = []

    def make(apps: list[dict[str, Any]] | None = None, **kwargs: Any) -> Simulator:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("deploy_seconds", 10.0)
        sim = Simulator(copy.deepcopy(apps if apps is not None else [docker_app()]), **kwargs)
        started.append(sim.start())
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: MakeSim) -> Simulator:
    return make_sim()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get_app(http: requests.Session, sim: Simulator, app_id: str = "/shop/prod/api",
            **params: Any) -> dict[str, Any]:
    r = http.get(f"{sim.url}/v2/apps{app_id}", params=params, timeout=5)
    assert r.status_code == 200, r.text
    app: dict[str, Any] = r.json()["app"]
    return app


def counts(app: dict[str, Any]) -> tuple[int, int, int, int]:
    """(staged, running, healthy, unhealthy)."""
    return (app["tasksStaged"], app["tasksRunning"], app["tasksHealthy"],
            app["tasksUnhealthy"])


def put_image(http: requests.Session, sim: Simulator, image: str,
              app_id: str = "/shop/prod/api", **params: Any) -> requests.Response:
    """The client's correct image change: the whole current container, new image, PUT."""
    container = get_app(http, sim, app_id)["container"]
    container["docker"]["image"] = image
    return http.put(f"{sim.url}/v2/apps{app_id}", json={"container": container},
                    params=params, timeout=5)
