"""Why a deployment is stuck reaches every place a person looks: stderr, the report, Slack and JUnit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from marathonsim import Simulator
from testbed import wave

pytestmark = pytest.mark.network  # each test starts its own simulator

FAILURE = "new tasks failed: Container exited with status 1 (TASK_FAILED)"


def test_a_never_starting_image_fails_with_its_last_task_failure_everywhere(
        cli: Any, tmp_path: Path, slack_recorder: Any) -> None:
    names = wave.services(2)
    wave.write_index(tmp_path, names)
    broken = f"*/{names[1]}:{wave.OLD}"
    with Simulator(apps=wave.apps_for(names, instances=1), deploy_seconds=0.2, failing_images=[broken]) as sim:
        r = cli(*wave.run_argv(tmp_path, sim.url, parallel=2, timeout=1), "--on-failure=continue",
                f"--slack={slack_recorder.webhook_url}")
    assert r.code == 1, r.err
    assert f"{names[1]}: FAILED (deadline): not done after 1s" in r.err
    assert f"why: {FAILURE}" in r.err

    [report_file] = tmp_path.glob("report-*.json")
    services = {s["service"]: s for s in json.loads(report_file.read_text())["services"]}
    assert services[names[1]]["stuck_reason"] == FAILURE
    assert services[names[0]]["status"] == "succeeded" and services[names[0]]["stuck_reason"] is None

    [junit] = tmp_path.glob("junit-*.xml")
    assert f"why: {FAILURE}" in junit.read_text()

    texts = [json.dumps(m.body) for m in slack_recorder.wait_for(4)]
    assert any(FAILURE in text and names[1] in text for text in texts), texts


def test_plan_warns_when_the_timeout_is_shorter_than_a_health_grace_period(cli: Any, tmp_path: Path) -> None:
    names = wave.services(2)
    wave.write_index(tmp_path, names)
    apps = wave.apps_for(names, instances=1)
    apps[0]["healthChecks"] = [{"protocol": "MESOS_HTTP", "path": "/health", "gracePeriodSeconds": 30}]
    with Simulator(apps=apps) as sim:
        base = ["plan", f"--date={wave.DATE}", f"--env={wave.ENV}", f"--dump={tmp_path}", f"--marathon={sim.url}"]
        r = cli(*base, "--timeout=60")
        relaxed = cli(*base, "--timeout=600")
    assert r.code == 0, r.err
    # no gracePeriodSeconds: Marathon's default of 300 s applies
    assert (f"warning: {names[1]}: --timeout=60s is shorter than its health grace period (300s); "
            "its new tasks may still be not healthy yet at the deadline") in r.err
    assert names[0] + ": --timeout" not in r.err
    assert relaxed.code == 0 and "grace period" not in relaxed.err
