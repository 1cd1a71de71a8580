"""Contract: `python -m marathonsim` as make demo, Ansible and subprocess tests run it."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from .conftest import docker_app

ROOT = Path(__file__).resolve().parents[3]


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "marathonsim", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_serves_the_apps_file_until_sigterm(tmp_path: Path) -> None:
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps({"apps": [docker_app()], "unhealthy_images": ["*:bad"]}))
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    proc = start("--apps", str(apps), "--deploy-seconds", "0.1", "--user", "ops",
                 "--password-file", str(secret))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert requests.get(f"{url}/v2/apps", timeout=5).status_code == 401
        app = requests.get(f"{url}/v2/apps/shop/prod/api", auth=("ops", "s3cret"),
                           timeout=5).json()["app"]
        assert app["tasksHealthy"] == 2
        assert requests.get(f"{url}/_sim/images", timeout=5).json()["unhealthy"] == ["*:bad"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == "" and "s3cret" not in err  # one line only, and never the password


@pytest.mark.slow
def test_bare_list_and_bad_input(tmp_path: Path) -> None:
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps([{"id": "/a", "cmd": "sleep 1"}]))
    proc = start("--apps", str(apps), "--dcos")
    assert proc.stdout is not None and proc.stdout.readline().startswith("listening on")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 0
    apps.write_text(json.dumps([{"id": "/Bad", "cmd": "x"}]))
    bad = subprocess.run([sys.executable, "-m", "marathonsim", "--apps", str(apps)], cwd=ROOT,
                         capture_output=True, text=True, timeout=10)
    assert bad.returncode == 2 and "/id" in bad.stderr and bad.stdout == ""
    missing = subprocess.run([sys.executable, "-m", "marathonsim", "--apps", "/nonexistent"],
                             cwd=ROOT, capture_output=True, text=True, timeout=10)
    assert missing.returncode == 2 and "nonexistent" in missing.stderr


@pytest.mark.slow
def test_the_apps_file_seeds_history_and_retention(tmp_path: Path) -> None:
    """docs/simulator.md "History": past versions, a refused one, zk_max_versions."""
    app = docker_app(image="reg/api:3", version="2026-11-19T10:00:00Z")
    history = [{"version": "2026-11-17T10:00:00+02:00", "image": "reg/api:1"},
               {"version": "2026-11-18T08:00:00Z", "image": "reg/api:2", "refused": True}]
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps({"apps": [app], "history": {"/shop/prod/api": history},
                                "zk_max_versions": 2}))
    proc = start("--apps", str(apps))
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        base = f"{url}/v2/apps/shop/prod/api/versions"
        assert requests.get(base, timeout=5).json() == {
            "versions": ["2026-11-19T10:00:00.000Z", "2026-11-18T08:00:00.000Z"]}
        refused = requests.get(f"{base}/2026-11-18T09:00:00+01:00", timeout=5).json()
        assert refused["container"]["docker"]["image"] == "reg/api:2"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    apps.write_text(json.dumps({"apps": [app], "zk_max_versions": 0}))
    bad = subprocess.run([sys.executable, "-m", "marathonsim", "--apps", str(apps)], cwd=ROOT,
                         capture_output=True, text=True, timeout=10)
    assert bad.returncode == 2 and "zk_max_versions" in bad.stderr


@pytest.mark.slow
def test_the_apps_file_sets_knobs_capacity_and_the_clock(tmp_path: Path) -> None:
    """docs/simulator.md "Knobs": knobs per app, the cluster's room, the simulated time."""
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps({
        "apps": [docker_app(instances=1, cpus=1)],
        "capacity": {"cpus": 1.5, "mem": 4096},
        "knobs": {"/shop/prod/api": {"launch_failure": "no such image"}},
        "clock": {"start": "2026-11-20T09:00:00+01:00", "rate": 1}}))
    proc = start("--apps", str(apps))
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        app = requests.get(f"{url}/v2/apps/shop/prod/api", timeout=5).json()["app"]
        assert app["version"].startswith("2026-11-20T08:00:")
        requests.put(f"{url}/v2/apps/shop/prod/api", json={"instances": 2}, timeout=5)
        [entry] = requests.get(f"{url}/v2/queue", timeout=5).json()["queue"]
        cpus = entry["processedOffersSummary"]["rejectSummaryLastOffers"][4]
        assert cpus["reason"] == "InsufficientCpus" and cpus["declined"] == cpus["processed"] > 0
        knobs = requests.get(f"{url}/_sim/knobs", timeout=5).json()
        assert knobs["knobs"] == {"/shop/prod/api": {"launch_failure": "no such image"}}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    for bad in ({"capacity": {"cpus": 1}}, {"knobs": {"*": {"nope": 1}}},
                {"clock": {"start": "tomorrow"}}):
        apps.write_text(json.dumps({"apps": [], **bad}))
        result = subprocess.run([sys.executable, "-m", "marathonsim", "--apps", str(apps)],
                                cwd=ROOT, capture_output=True, text=True, timeout=10)
        assert result.returncode == 2 and result.stderr.startswith("marathonsim: "), bad
