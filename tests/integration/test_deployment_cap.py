"""Marathon's cap on running deployments is back-pressure: the tool waits for free slots, never fails for it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.marathon.client import MarathonClient
from fleetrewind.transport import TLS, Transport
from marathonsim import Simulator
from testbed import wave

pytestmark = pytest.mark.network  # every test here starts its own server


def _puts(sim: Simulator) -> Counter[str]:
    return Counter(r["path"] for r in sim.requests if r["method"] == "PUT")


def _report(dump: Path) -> dict[str, Any]:
    [path] = dump.glob("report-*.json")
    return dict(json.loads(path.read_text()))


def test_a_500_service_wave_at_parallel_500_waits_for_marathons_100_slots_and_rolls_every_service_back(
        cli: Any, tmp_path: Path) -> None:
    names = wave.services(500)
    wave.write_index(tmp_path, names)
    with Simulator(apps=wave.apps_for(names, instances=1), deploy_seconds=0.2, max_running_deployments=100) as sim:
        r = cli(*wave.run_argv(tmp_path, sim.url, parallel=500), "--quiet")
        assert r.code == 0, r.err[-3000:]
        assert wave.on_old_release(sim.apps) == []
        # never more deployments at once than Marathon admits: no PUT was refused and sent again
        puts = _puts(sim)
        assert len(puts) == 500 and set(puts.values()) == {1}
    report = _report(tmp_path)
    assert report["state"] == "SUCCEEDED"
    assert Counter(s["status"] for s in report["services"]) == {"succeeded": 500}
    assert "permission" not in r.err


def test_the_first_403_at_the_cap_teaches_it_and_the_refused_services_wait(cli: Any, tmp_path: Path) -> None:
    names = wave.services(12)
    wave.write_index(tmp_path, names)
    with Simulator(apps=wave.apps_for(names, instances=1), deploy_seconds=0.2, max_running_deployments=4) as sim:
        r = cli(*wave.run_argv(tmp_path, sim.url, parallel=12))
        assert r.code == 0, r.err
        assert wave.on_old_release(sim.apps) == []
        assert sum(_puts(sim).values()) > 12  # the config said 100: some PUTs met the 403 and were sent again
    assert "Marathon admits at most 4 running deployments (its 403); waiting for free slots" in r.err
    assert "permission" not in r.err and "FAILED" not in r.err


def _stuck_foreign_deployment(sim: Simulator) -> None:
    """Another tool's deployment that never ends (its image never turns healthy) holds one slot."""
    client = MarathonClient(Transport(sim.url, tls=TLS()))
    foreign = client.get_app("/ds/other/team/batch")
    client.update_image(foreign, "reg.example:5000/batch:broken")
    assert len(sim.deployments) == 1


FOREIGN = {"id": "/ds/other/team/batch", "instances": 1,
           "container": {"type": "DOCKER", "docker": {"image": "reg.example:5000/batch:1"}},
           "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health"}]}


def test_deployments_started_by_others_take_slots_too(cli: Any, tmp_path: Path) -> None:
    names = wave.services(6)
    wave.write_index(tmp_path, names)
    (tmp_path / "rollback.yaml").write_text("max_deployments: 3\n")
    with Simulator(apps=wave.apps_for(names, instances=1) + [FOREIGN], deploy_seconds=0.2,
                   max_running_deployments=3, unhealthy_images=["*/batch:broken"]) as sim:
        _stuck_foreign_deployment(sim)
        sim.reset_requests()
        r = cli(*wave.run_argv(tmp_path, sim.url, parallel=6), f"--config={tmp_path / 'rollback.yaml'}")
        assert r.code == 0, r.err
        assert wave.on_old_release({k: v for k, v in sim.apps.items() if "/bench/" in k}) == []
        puts = _puts(sim)
        assert len(puts) == 6 and set(puts.values()) == {1}  # at most 2 of ours at once: never a 403
    assert "deployment slots full: waiting for a free deployment slot: Marathon admits 3 running deployments" in r.err


def test_no_free_slot_before_the_deadline_fails_the_service_as_a_deadline_with_nothing_changed(
        cli: Any, tmp_path: Path) -> None:
    names = wave.services(2)
    wave.write_index(tmp_path, names)
    (tmp_path / "rollback.yaml").write_text("max_deployments: 1\n")
    with Simulator(apps=wave.apps_for(names, instances=1) + [FOREIGN], deploy_seconds=0.2,
                   max_running_deployments=1, unhealthy_images=["*/batch:broken"]) as sim:
        _stuck_foreign_deployment(sim)
        r = cli(*wave.run_argv(tmp_path, sim.url, parallel=2, timeout=1), f"--config={tmp_path / 'rollback.yaml'}",
                "--on-failure=continue")
        assert r.code == 1, r.err
        assert len(wave.on_old_release({k: v for k, v in sim.apps.items() if "/bench/" in k})) == 2
    services = _report(tmp_path)["services"]
    for service in services:
        assert service["status"] == "failed" and service["failure_class"] == "deadline"
        assert service["error"].startswith("no free deployment slot within 1s (waiting for a free deployment slot: "
                                           "Marathon admits 1 running deployments and 1 are running)")
        assert service["stuck_reason"].startswith("waiting for a free deployment slot")
    assert "permission" not in r.err
