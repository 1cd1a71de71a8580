"""`deploy` with automatic rollback, on the Marathon simulator (docs/how-it-works.md).

States: RUNNING -> SUCCEEDED, or RUNNING -> FAILED -> ROLLING_BACK -> ROLLBACK_COMPLETED | ROLLBACK_FAILED.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from marathonsim import Simulator

REG = "registry.example.com:5000/shop"
OLD = {"api": f"{REG}/api:515-master", "web": f"{REG}/web:308-master"}
NEW = {"api": f"{REG}/api:516-master", "web": f"{REG}/web:309-master"}
USER, PASSWORD = "release", "deploy-pw-4Kq"
TIMEOUT = "1"


def app_id(name: str) -> str:
    return f"/ds/prod/shop/{name}"


def apps() -> list[dict[str, Any]]:
    return [{
        "id": app_id(name), "instances": 2, "cpus": 0.25, "mem": 128,
        "container": {"type": "DOCKER", "docker": {"image": image},
                      "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}]},
        "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}],
    } for name, image in OLD.items()]


@dataclass
class Stage:
    sim: Simulator
    dump: Path
    env: dict[str, str]

    def images(self) -> dict[str, str]:
        return {name: self.sim.apps[app_id(name)]["container"]["docker"]["image"] for name in OLD}

    def report(self) -> dict[str, Any]:
        [path] = list(self.dump.glob("report-*.json"))
        return json.loads(path.read_text())

    def statuses(self) -> dict[str, str]:
        return {s["service"]: s["status"] for s in self.report()["services"]}

    def config(self, text: str) -> str:
        path = self.dump / "rollback.yaml"
        path.write_text(text)
        return f"--config={path}"

    def healthy_on(self, images: dict[str, str]) -> bool:
        found = self.sim.apps
        return all(found[app_id(n)]["container"]["docker"]["image"] == image and found[app_id(n)]["deployments"] == []
                   and found[app_id(n)]["tasksHealthy"] == 2 for n, image in images.items())


@pytest.fixture
def make_stage(tmp_path: Path) -> Iterator[Callable[..., Stage]]:
    sims: list[Simulator] = []

    def make(**sim_options: Any) -> Stage:
        sim_options.setdefault("deploy_seconds", 0.2)
        sim = Simulator(apps=apps(), auth=(USER, PASSWORD), **sim_options).start()
        sims.append(sim)
        dump = tmp_path / f"dump{len(sims)}"
        dump.mkdir()
        env = {"MARATHON_URL": sim.url, "MARATHON_USER": USER, "MARATHON_PASSWORD": PASSWORD, "BUILD_USER": "rel-eng"}
        return Stage(sim, dump, env)

    yield make
    for sim in sims:
        sim.stop()


def deploy(stage: Stage, *extra: str, timeout: str = TIMEOUT) -> list[str]:
    return ["deploy", "--env=prod", "--image=api=516-master", "--image=web=309-master", f"--dump={stage.dump}",
            f"--timeout={timeout}", *extra]


def printed_states(out: str) -> list[str]:
    return [line.split("state: ", 1)[1].split()[0] for line in out.splitlines() if line.startswith("state: ")]


# --- outcomes ----------------------------------------------------------------------------------------

def test_a_healthy_deploy_ends_succeeded(make_stage: Callable[..., Stage], cli) -> None:
    stage = make_stage()

    r = cli(*deploy(stage, timeout="3"), env=stage.env)

    assert r.code == 0, r.err
    assert printed_states(r.out) == ["RUNNING", "SUCCEEDED"]
    assert stage.images() == NEW  # the tag replaced, registry and repository kept
    assert stage.healthy_on(NEW)
    report = stage.report()
    assert (report["command"], report["state"], report["states"]) == ("deploy", "SUCCEEDED", ["RUNNING", "SUCCEEDED"])
    [snapshot] = list(stage.dump.glob("snapshot-*.json"))
    assert {a["service"]: a["image"] for a in json.loads(snapshot.read_text())["apps"]} == OLD


def test_an_image_that_never_becomes_healthy_is_rolled_back_everywhere(make_stage: Callable[..., Stage], cli) -> None:
    stage = make_stage(unhealthy_images=[NEW["api"]])

    r = cli(*deploy(stage), env=stage.env)

    assert r.code == 1
    expected = ["RUNNING", "FAILED", "ROLLING_BACK", "ROLLBACK_COMPLETED"]
    assert printed_states(r.out) == expected
    assert stage.report()["states"] == expected and stage.report()["state"] == "ROLLBACK_COMPLETED"
    # web came up fine but is part of the release: every touched service goes back
    assert stage.images() == OLD and stage.healthy_on(OLD)
    assert stage.statuses() == {"api": "rolled-back", "web": "rolled-back"}
    api = next(s for s in stage.report()["services"] if s["service"] == "api")
    assert api["failure_class"] == "unhealthy"


@dataclass
class HealthServer:
    url: str
    hits: list[str]


@pytest.fixture
def health_server() -> Iterator[HealthServer]:
    """A service's own health endpoint: /ok answers 200, anything else 503."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200 if self.path == "/ok" else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield HealthServer(f"http://127.0.0.1:{server.server_address[1]}", hits)
    finally:
        server.shutdown()
        server.server_close()


def test_a_failing_health_url_is_rolled_back(make_stage: Callable[..., Stage], cli,
                                             health_server: HealthServer) -> None:
    stage = make_stage()
    config = stage.config("health_grace: 1\n")
    url = health_server.url

    r = cli(*deploy(stage, config, f"--health-url=api={url}/down", f"--health-url=web={url}/ok", timeout="3"),
            env=stage.env)

    assert r.code == 1
    assert "/down" in health_server.hits and "/ok" in health_server.hits
    assert printed_states(r.out) == ["RUNNING", "FAILED", "ROLLING_BACK", "ROLLBACK_COMPLETED"]
    assert stage.images() == OLD and stage.healthy_on(OLD)
    api = next(s for s in stage.report()["services"] if s["service"] == "api")
    assert api["failure_class"] == "health-url"
    assert f"health URL {url}/down did not answer 2xx within 1s (last: HTTP 503)" in api["error"]


def test_a_passing_health_url_lets_the_deploy_succeed(make_stage: Callable[..., Stage], cli,
                                                      health_server: HealthServer) -> None:
    stage = make_stage()

    r = cli(*deploy(stage, f"--health-url=api={health_server.url}/ok", timeout="3"), env=stage.env)

    assert r.code == 0, r.err
    assert stage.images() == NEW
    assert health_server.hits == ["/ok"]  # checked once the deployment was done, and it answered 2xx


def test_a_rollback_that_fails_too_ends_rollback_failed_saying_where_each_service_is(
        make_stage: Callable[..., Stage], cli) -> None:
    stage = make_stage(unhealthy_images=[NEW["api"]])
    # from now on the previous api image does not come up either (tasks running now stay healthy)
    stage.sim.set_images(unhealthy=[NEW["api"], OLD["api"]])

    r = cli(*deploy(stage), env=stage.env)

    assert r.code == 1
    expected = ["RUNNING", "FAILED", "ROLLING_BACK", "ROLLBACK_FAILED"]
    assert printed_states(r.out) == expected
    report = stage.report()
    assert (report["state"], report["states"], report["exit_code"]) == ("ROLLBACK_FAILED", expected, 1)
    services = {s["service"]: s for s in report["services"]}
    assert services["web"]["status"] == "rolled-back"
    assert services["api"]["status"] == "rollback-failed"
    assert "rollback failed:" in services["api"]["error"]
    assert stage.images()["web"] == OLD["web"] and stage.healthy_on({"web": OLD["web"]})
    assert f"to undo: rollback.py undo --snapshot={report['snapshot']} --force" in r.out


def test_auto_rollback_off_leaves_the_failed_state_and_says_how_to_roll_back(
        make_stage: Callable[..., Stage], cli) -> None:
    stage = make_stage(unhealthy_images=[NEW["api"]])

    r = cli(*deploy(stage, "--auto-rollback=off"), env=stage.env)

    assert r.code == 1
    assert printed_states(r.out) == ["RUNNING", "FAILED"]
    assert stage.images() == NEW  # left as it failed
    snapshot = stage.report()["snapshot"]
    assert f"undo --snapshot={snapshot} --force" in r.err
    assert "auto-rollback is off" in r.err

    undo = cli("undo", f"--snapshot={snapshot}", "--force", f"--dump={stage.dump}", "--timeout=3", env=stage.env)
    assert undo.code == 0, undo.err
    assert stage.images() == OLD


WEB_FIRST = "waves:\n  - [web]\n  - [api]\n"


def test_a_rejected_definition_is_reported_as_such_and_not_rolled_back(make_stage: Callable[..., Stage], cli) -> None:
    stage = make_stage(invalid_images=[NEW["api"]])

    r = cli(*deploy(stage, stage.config(WEB_FIRST), timeout="3"), env=stage.env)

    assert r.code == 1
    assert printed_states(r.out) == ["RUNNING", "FAILED"]
    report = stage.report()
    api = next(s for s in report["services"] if s["service"] == "api")
    assert (api["status"], api["failure_class"]) == ("failed", "rejected")
    assert "Marathon rejected the new definition of /ds/prod/shop/api" in api["error"]
    assert "not one a rollback can fix" in r.err
    assert stage.images() == {"api": OLD["api"], "web": NEW["web"]}  # web, deployed first, stays


def test_the_config_can_make_a_rejected_definition_trigger_the_rollback(
        make_stage: Callable[..., Stage], cli) -> None:
    stage = make_stage(invalid_images=[NEW["api"]])
    config = stage.config(WEB_FIRST + "rollback_on: [rejected, deadline, unhealthy, health-url]\n")

    r = cli(*deploy(stage, config, timeout="3"), env=stage.env)

    assert r.code == 1
    assert printed_states(r.out) == ["RUNNING", "FAILED", "ROLLING_BACK", "ROLLBACK_COMPLETED"]
    assert stage.images() == OLD


# --- side channels -----------------------------------------------------------------------------------------

def test_slack_messages_carry_each_state(make_stage: Callable[..., Stage], cli, slack_recorder: Any) -> None:
    stage = make_stage(unhealthy_images=[NEW["api"]])

    r = cli(*deploy(stage, f"--slack={slack_recorder.webhook_url}"), env=stage.env)

    assert r.code == 1
    texts = [str(m.body.get("text", "")) for m in slack_recorder.wait_for(6)]
    for state in ("RUNNING", "FAILED", "ROLLING_BACK", "ROLLBACK_COMPLETED"):
        assert any(f"Deploy to prod: state {state}" in t for t in texts), state
    assert any("Deploy to prod failed and was rolled back" in t for t in texts)
    assert not any(PASSWORD in json.dumps(m.body) for m in slack_recorder.received)


def test_the_ledger_gets_an_entry_per_deploy(make_stage: Callable[..., Stage], cli) -> None:
    stage = make_stage()
    ledger = stage.dump / "history.jsonl"

    ok = cli(*deploy(stage, f"--ledger={ledger}", timeout="3"), env=stage.env)
    stage.sim.set_images(unhealthy=[f"{REG}/api:517-master"])
    bad = cli("deploy", "--env=prod", "--image=api=517-master", f"--dump={stage.dump}", f"--timeout={TIMEOUT}",
              f"--ledger={ledger}", env=stage.env)

    assert (ok.code, bad.code) == (0, 1)
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [(e["command"], e["env"], e["actor"], e["state"]) for e in entries] == [
        ("deploy", "prod", "rel-eng", "SUCCEEDED"), ("deploy", "prod", "rel-eng", "ROLLBACK_COMPLETED")]
    assert entries[0]["images"] == NEW  # what "the last state that worked" is
    assert entries[1]["images"] == {}
    assert all(Path(e["report"]).is_file() for e in entries)
    assert stage.images() == NEW


def test_each_deploy_keeps_its_own_snapshot_and_report_even_within_one_second(
        make_stage: Callable[..., Stage], cli) -> None:
    """Two runs in a row (a retry in a pipeline) must not overwrite each other's snapshot or report."""
    stage = make_stage(invalid_images=[NEW["api"]])  # rejected at once: each deploy takes milliseconds
    args = ["deploy", "--env=prod", "--image=api=516-master", f"--dump={stage.dump}", "--timeout=1"]

    first = cli(*args, env=stage.env)
    second = cli(*args, env=stage.env)

    assert (first.code, second.code) == (1, 1)
    assert len(list(stage.dump.glob("snapshot-*.json"))) == 2
    assert len(list(stage.dump.glob("report-*.json"))) == 2
    assert len(list(stage.dump.glob("junit-*.xml"))) == 2
    reports = [json.loads(line)["report"] for line in (stage.dump / "ledger.jsonl").read_text().splitlines()]
    assert len(set(reports)) == 2


def test_an_app_that_runs_no_docker_image_is_refused_before_anything_changes(
        make_stage: Callable[..., Stage], cli) -> None:
    stage = make_stage()
    resp = requests.put(f"{stage.sim.url}/v2/apps/ds/prod/shop/cron", auth=(USER, PASSWORD), timeout=5,
                        json={"id": "/ds/prod/shop/cron", "cmd": "sleep 1000", "instances": 1})
    assert resp.status_code == 201, resp.text
    stage.sim.reset_requests()

    r = cli("deploy", "--env=prod", "--image=api=516-master", f"--image=cron={REG}/cron:2-master",
            f"--dump={stage.dump}", "--timeout=1", env=stage.env)

    assert r.code == 2
    assert "no Docker image to change in cron (/ds/prod/shop/cron)" in r.err
    assert [q for q in stage.sim.requests if q["method"] == "PUT"] == []
    assert stage.images() == OLD and not list(stage.dump.glob("snapshot-*.json"))
