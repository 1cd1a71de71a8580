"""Contract: failures on demand (docs/simulator.md "Failures on demand"; docs/simulator.md:
a write that timed out is not resent blindly)."""
from __future__ import annotations

import time

import pytest
import requests

from marathonsim import Simulator

from .conftest import get_app, put_image


def statuses(http: requests.Session, sim: Simulator, n: int, path: str = "/v2/apps") -> list[int]:
    return [http.get(sim.url + path).status_code for _ in range(n)]


def test_fail_next_answers_the_next_n_with_a_status(sim: Simulator,
                                                    http: requests.Session) -> None:
    sim.set_fault(fail_next=2, status=503)
    assert statuses(http, sim, 3) == [503, 503, 200]
    r = http.post(f"{sim.url}/_sim/faults", json={"fail_next": 1})
    assert r.status_code == 200
    r = http.get(f"{sim.url}/v2/apps")
    assert r.status_code == 500 and "message" in r.json()


def test_every_nth_and_seeded_error_rate(sim: Simulator, http: requests.Session) -> None:
    sim.set_fault(every=3)
    assert statuses(http, sim, 6) == [200, 200, 500, 200, 200, 500]
    sim.set_fault(error_rate=0.5, seed=7)
    first = statuses(http, sim, 20)
    sim.set_fault(error_rate=0.5, seed=7)
    assert statuses(http, sim, 20) == first  # repeatable with the same seed
    assert 0 < first.count(500) < 20


def test_drop_closes_the_connection_without_an_answer(sim: Simulator,
                                                      http: requests.Session) -> None:
    sim.set_fault(drop=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(f"{sim.url}/v2/apps")
    assert http.get(f"{sim.url}/v2/apps").status_code == 200
    assert [r["fault"] for r in sim.requests] == ["drop", None]


def test_delay_and_method_and_path_filters(sim: Simulator, http: requests.Session) -> None:
    # A long delay against a generous bound: the check must hold on a loaded CI machine too.
    sim.set_fault(delay=1.0, method="GET", path_prefix="/v2/deployments")
    started = time.monotonic()
    http.get(f"{sim.url}/v2/apps")
    assert time.monotonic() - started < 0.9
    started = time.monotonic()
    http.get(f"{sim.url}/v2/deployments")
    assert time.monotonic() - started >= 1.0
    sim.set_fault(fail_next=5, method="PUT")
    assert http.get(f"{sim.url}/v2/apps").status_code == 200
    assert put_image(http, sim, "x:2").status_code == 500


def test_after_processing_loses_the_answer_but_keeps_the_change(
        sim: Simulator, http: requests.Session) -> None:
    """The write happened, the client never heard: it must look at deployments first."""
    sim.set_fault(drop=1, method="PUT", after=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        put_image(http, sim, "registry.example.com/api:2-master")
    assert get_app(http, sim)["container"]["docker"]["image"].endswith(":2-master")
    assert len(http.get(f"{sim.url}/v2/deployments").json()) == 1


def test_control_endpoints_are_never_faulted(sim: Simulator, http: requests.Session) -> None:
    sim.set_fault(fail_next=100, drop=0)
    assert http.get(f"{sim.url}/_sim/requests").status_code == 200
    assert http.get(f"{sim.url}/_sim/faults").json()["faults"][0]["fail_next"] == 100
    assert http.delete(f"{sim.url}/_sim/faults").status_code == 204
    assert http.get(f"{sim.url}/v2/apps").status_code == 200


def test_fault_spec_is_checked(sim: Simulator, http: requests.Session) -> None:
    r = http.post(f"{sim.url}/_sim/faults", json={"fail_nxt": 1})
    assert r.status_code == 400 and "fail_nxt" in r.json()["message"]
    r = http.post(f"{sim.url}/_sim/faults", json={"error_rate": 2})
    assert r.status_code == 400
    r = http.post(f"{sim.url}/_sim/faults", json=[{"delay": 0.01}, {"every": 2, "status": 502}])
    assert r.status_code == 200 and len(r.json()["faults"]) == 2
    assert statuses(http, sim, 2) == [200, 502]
    with pytest.raises(ValueError):
        sim.set_fault(status="500")


def test_a_client_that_gives_up_leaves_no_noise(sim: Simulator, http: requests.Session,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    """A delay longer than the client's timeout: the client sees a timeout, the server
    writes to a closed socket quietly and keeps serving."""
    sim.set_fault(delay=0.4, fail_next=0, path_prefix="/v2/apps")
    with pytest.raises(requests.exceptions.Timeout):
        http.get(f"{sim.url}/v2/apps", timeout=0.1)
    time.sleep(0.5)
    assert http.get(f"{sim.url}/ping").status_code == 200
    assert "Traceback" not in capfd.readouterr().err
