"""Each kind of stuck deployment, as the simulator runs it with Marathon's timing, gets its reason."""

from __future__ import annotations

import pytest
import json
import re
from pathlib import Path
from typing import Any

from marathonsim import Simulator
from testbed import wave

pytestmark = pytest.mark.network  # each test starts its own simulator

NAMES = wave.services(2)
STUCK = wave.app_id(NAMES[1])


def _run(cli: Any, tmp_path: Path, apps: list[dict[str, Any]], **sim: Any) -> tuple[Any, dict[str, Any]]:
    wave.write_index(tmp_path, NAMES)
    with Simulator(apps=apps, deploy_seconds=0.2, **sim) as running:
        r = cli(*wave.run_argv(tmp_path, running.url, parallel=2, timeout=1.5), "--on-failure=continue")
    [report] = tmp_path.glob("report-*.json")
    services = {s["service"]: s for s in json.loads(report.read_text())["services"]}
    assert r.code == 1, r.err
    assert services[NAMES[0]]["status"] == "succeeded"
    return r, services[NAMES[1]]


def test_no_room_names_the_resource_every_offer_lacked(cli: Any, tmp_path: Path) -> None:
    r, stuck = _run(cli, tmp_path, wave.apps_for(NAMES, instances=1),
                    capacity={"cpus": 64, "mem": 65536, "agents": 4},
                    knobs={STUCK: {"decline_reason": "InsufficientCpus"}})
    assert stuck["failure_class"] == "deadline"
    assert re.fullmatch(r"no agent has room: insufficient cpus on (\d+) of \1 offers \(\d+ instances? left to launch\)",
                        stuck["stuck_reason"]), stuck["stuck_reason"]
    assert f"why: {stuck['stuck_reason']}" in r.err


def test_backing_off_says_when_the_next_launch_is_and_why_the_last_one_failed(cli: Any, tmp_path: Path) -> None:
    r, stuck = _run(cli, tmp_path, wave.apps_for(NAMES, instances=1),
                    failing_images=[f"*/{NAMES[1]}:{wave.OLD}"],
                    knobs={STUCK: {"launch_backoff": True, "failure_message": "exec format error"}})
    assert stuck["stuck_reason"].startswith("backing off after failed launches: next launch in ")
    assert "; last failure: exec format error (TASK_FAILED)" in stuck["stuck_reason"]


def test_failing_checks_inside_the_grace_period_are_not_healthy_yet_and_fail_as_a_deadline(
        cli: Any, tmp_path: Path) -> None:
    r, stuck = _run(cli, tmp_path, wave.apps_for(NAMES, instances=1), unhealthy_images=[f"*/{NAMES[1]}:{wave.OLD}"],
                    knobs={STUCK: {"health_grace": True}})
    assert stuck["failure_class"] == "deadline"  # Marathon still ignores the failures: not "unhealthy"
    assert stuck["stuck_reason"].startswith(
        "health checks in their grace period: 1 of 1 new tasks not healthy yet (grace 300s, ")
    assert "1 not healthy yet" in stuck["error"]


def test_readiness_that_never_passes_holds_the_deployment_and_says_so(cli: Any, tmp_path: Path) -> None:
    apps = wave.apps_for(NAMES, instances=1)
    # the reason names the app's own check, and its last answer where Marathon keeps it
    apps[1]["readinessChecks"] = [{"name": "warmup", "protocol": "HTTP", "path": "/ready", "portName": "http",
                                   "preserveLastResponse": True}]
    r, stuck = _run(cli, tmp_path, apps, knobs={STUCK: {"never_ready": True}})
    assert stuck["failure_class"] == "deadline"
    assert stuck["stuck_reason"] == ("new tasks not ready: readiness check warmup not ready on 1 tasks "
                                     "(last answer HTTP 503)")
