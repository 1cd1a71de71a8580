"""Contract: GET /v2/events, server-sent events (`core/event/impl/stream/HttpEventStreamServlet.scala`,
`core/event/Events.scala`, `docs/docs/event-bus.md`)."""
from __future__ import annotations

import json
import threading
from typing import Any, Iterator

import pytest
import requests

from marathonsim import Simulator

from .conftest import FakeClock, MakeSim, docker_app, put_image

SSE = {"Accept": "text/event-stream"}


def frames(response: requests.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of an SSE stream."""
    name = ""
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            yield name, json.loads(line[len("data: "):])


def test_a_deployment_streams_its_events_filtered_by_type(make_sim: MakeSim,
                                                          http: requests.Session) -> None:
    sim = make_sim(clock=None, deploy_seconds=0.2)
    wanted = ["deployment_info", "deployment_success", "status_update_event"]
    with requests.get(f"{sim.url}/v2/events", params={"event_type": wanted}, headers=SSE,
                      stream=True, timeout=10) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        result = put_image(http, sim, "registry.example.com/api:2").json()
        seen: list[tuple[str, dict[str, Any]]] = []
        for name, data in frames(stream):
            seen.append((name, data))
            if name == "deployment_success":
                break
    names = [n for n, _ in seen]
    assert names[0] == "deployment_info" and names[-1] == "deployment_success"
    assert set(names) == set(wanted)  # attached events and health changes filtered out
    success = seen[-1][1]
    assert success["id"] == result["deploymentId"] and success["plan"]["id"] == success["id"]
    assert success["eventType"] == "deployment_success" and success["timestamp"]
    statuses = [d for n, d in seen if n == "status_update_event"]
    assert {d["taskStatus"] for d in statuses} == {"TASK_STAGING", "TASK_RUNNING", "TASK_KILLED"}
    new = [d for d in statuses if d["version"] == result["version"]]
    assert new and all(d["appId"] == "/shop/prod/api" and d["taskId"] for d in new)


@pytest.mark.network
def test_the_stream_ends_when_the_server_stops() -> None:
    sim = Simulator([docker_app()], deploy_seconds=0.1).start()
    got: list[str] = []
    with requests.get(f"{sim.url}/v2/events", headers=SSE, stream=True, timeout=10) as stream:
        reader = threading.Thread(target=lambda: got.extend(n for n, _ in frames(stream)))
        reader.start()
        sim.stop()
        reader.join(timeout=10)
        assert not reader.is_alive()
    assert got[:1] == ["event_stream_attached"]


def test_events_need_the_event_stream_accept_header(sim: Simulator,
                                                    http: requests.Session) -> None:
    r = http.get(f"{sim.url}/v2/events")
    assert r.status_code == 405 and "text/event-stream" in r.json()["message"]


def test_health_and_cancel_events_on_a_fake_clock(make_sim: MakeSim, clock: FakeClock,
                                                  http: requests.Session) -> None:
    """The log behind the stream: health changes, and deployment_failed for a cancel."""
    sim = make_sim()
    first = put_image(http, sim, "registry.example.com/api:2").json()
    clock.advance(10)
    types = [e["eventType"] for e in sim.events]
    assert types.count("health_status_changed_event") == 2
    assert types.count("instance_health_changed_event") == 2
    changed = next(e for e in sim.events if e["eventType"] == "instance_health_changed_event")
    assert changed["healthy"] is True and changed["runSpecId"] == "/shop/prod/api"
    assert types[-2:] == ["deployment_step_success", "deployment_success"]
    second = put_image(http, sim, "registry.example.com/api:3").json()
    http.delete(f"{sim.url}/v2/deployments/{second['deploymentId']}")
    failed = [e for e in sim.events if e["eventType"] == "deployment_failed"]
    assert [e["id"] for e in failed] == [second["deploymentId"]]
    assert first["deploymentId"] not in {e["id"] for e in failed}
    remote = http.get(f"{sim.url}/_sim/events").json()["events"]
    assert [e["eventType"] for e in remote] == [e["eventType"] for e in sim.events]
