"""`plan`, `run` and `undo` end to end: the real registry, `get`, then the Marathon simulator.

The registry is populated once per module with the sample fleet under a prefix of its own, and
`get` writes rollback.json once; each test gets its own simulator and --dump folder.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from marathonsim import Simulator
from tests.fleet_support import Indexed, env_lock, hold_lock, index_sample_fleet, release, signal_when


ROOT = Path(__file__).resolve().parents[2]


PREFIX = "t/run-e2e/"


SERVICES = ["api", "worker", "auth", "web"]


NEWEST = {"api": "515-master", "worker": "210-master", "auth": "406-master", "web": "308-master"}


# 2026-11-19: worker had no release that day, so it gets its 2026-11-18 release.
AT_19 = {"api": "512-master", "worker": "207-master", "auth": "405-master", "web": "306-master"}


DATE = "2026-11-19"


USER, PASSWORD = "ops", "pw-e2e-Zq8!x7"


DEPLOY_SECONDS = 0.2


def svc(name: str) -> str:
    return PREFIX + name


def app_id(name: str) -> str:
    return f"/ds/prod/shop/{name}"


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    """The sample fleet in the real registry, and the rollback.json `get` writes for it."""
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[svc(s) for s in SERVICES],
                              dump=tmp_path_factory.mktemp("get"))


def fleet_apps(indexed: Indexed) -> list[dict[str, Any]]:
    """The four apps at their newest release; worker has no health checks (a queue consumer)."""
    apps = []
    for name in SERVICES:
        app: dict[str, Any] = {
            "id": app_id(name), "instances": 2, "cpus": 0.5, "mem": 256,
            "container": {
                "type": "DOCKER",
                "docker": {"image": indexed.image(name, NEWEST[name]), "forcePullImage": False},
                "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"}],
                "volumes": [{"containerPath": "/cache", "hostPath": "/var/cache/shop", "mode": "RW"}],
            },
            "env": {"SERVICE": name},
            "labels": {"team": "shop"},
        }
        if name != "worker":
            app["healthChecks"] = [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}]
        apps.append(app)
    return apps


@dataclass
class World:
    sim: Simulator
    dump: Path
    env: dict[str, str]
    indexed: Indexed

    def image(self, name: str, tag: str) -> str:
        return self.indexed.image(name, tag)

    def images(self) -> dict[str, str]:
        apps = self.sim.apps
        return {name: apps[app_id(name)]["container"]["docker"]["image"] for name in SERVICES}

    def tags(self) -> dict[str, str]:
        return {name: image.rsplit(":", 1)[1] for name, image in self.images().items()}

    def puts(self) -> list[dict[str, Any]]:
        return [r for r in self.sim.requests if r["method"] == "PUT"]

    def put_paths(self) -> list[str]:
        return [r["path"] for r in self.puts()]

    def report(self) -> dict[str, Any]:
        # the newest: two runs in one second are report-<stamp>.json, then report-<stamp>-2.json
        [path] = sorted(self.dump.glob("report-*.json"), key=lambda p: p.stat().st_mtime_ns)[-1:]
        return json.loads(path.read_text())

    def config(self, text: str) -> str:
        path = self.dump / "rollback.yaml"
        path.write_text(text)
        return f"--config={path}"

    def wait_idle(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.sim.deployments and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.sim.deployments

    def put_image(self, name: str, tag: str) -> None:
        """Someone else changes an app, straight through Marathon's API."""
        app = self.sim.apps[app_id(name)]
        container = copy.deepcopy(app["container"])
        container["docker"]["image"] = self.image(name, tag)
        resp = requests.put(f"{self.sim.url}/v2/apps{app_id(name)}", json={"container": container},
                            auth=(USER, PASSWORD), timeout=5)
        assert resp.status_code == 200, resp.text


@pytest.fixture
def make_world(indexed: Indexed, tmp_path: Path) -> Iterator[Callable[..., World]]:
    sims: list[Simulator] = []

    def make(**sim_options: Any) -> World:
        sim_options.setdefault("deploy_seconds", DEPLOY_SECONDS)
        sim = Simulator(apps=fleet_apps(indexed), auth=(USER, PASSWORD), **sim_options).start()
        sims.append(sim)
        dump = tmp_path / f"dump{len(sims)}"
        dump.mkdir()
        (dump / "rollback.json").write_text(indexed.index_text)
        env = {"MARATHON_URL": sim.url, "MARATHON_USER": USER, "MARATHON_PASSWORD": PASSWORD, "BUILD_USER": "alice"}
        return World(sim, dump, env, indexed)

    yield make
    for sim in sims:
        sim.stop()


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


def run_args(w: World, *extra: str, date: str = DATE, timeout: str = "3") -> list[str]:
    return ["run", f"--date={date}", "--env=prod", f"--dump={w.dump}", f"--timeout={timeout}", *extra]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MARATHON_", "DOCKER_REGISTRY", "ROLLBACK_")) or k == "ROLLBACK_LOCK_DIR"}
    env.update(extra)
    return env


@pytest.mark.slow
def test_get_then_run_as_subprocesses_put_every_app_on_its_image_of_the_date(
        indexed: Indexed, make_world: Callable[..., World], tmp_path: Path) -> None:
    w = make_world()
    dump = tmp_path / "fresh"
    env = subprocess_env(DOCKER_REGISTRY=indexed.registry_url, **w.env)
    repos = ",".join(svc(s) for s in SERVICES)

    get = subprocess.run([sys.executable, "rollback.py", "get", f"--repo={repos}", "--env=prod", f"--dump={dump}",
                          "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert get.returncode == 0, get.stderr
    assert json.loads((dump / "rollback.json").read_text())["rollbacks"][DATE]

    run = subprocess.run([sys.executable, "rollback.py", "run", f"--date={DATE}", "--env=prod", f"--dump={dump}",
                          "--timeout=5"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert run.returncode == 0, run.stderr
    assert w.tags() == AT_19  # worker back-filled from 2026-11-18
    assert w.images() == {name: w.image(name, tag) for name, tag in AT_19.items()}  # same registry and repository
    for name, app in ((n, w.sim.apps[app_id(n)]) for n in SERVICES):
        assert app["deployments"] == [] and app["tasksRunning"] == 2, name
        assert app["tasksHealthy"] == (0 if name == "worker" else 2), name
    assert "SUCCEEDED: 4 changed, 0 failed, 0 unchanged, 0 skipped" in run.stdout


def test_plan_prints_service_app_current_target_and_why_and_changes_nothing(world: World, cli) -> None:
    r = cli("plan", f"--date={DATE}", "--env=prod", f"--dump={world.dump}", env=world.env)

    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["SERVICE", "APP", "CURRENT", "TARGET", "WHY"]
    rows = {line.split()[0]: line.split(None, 4) for line in lines[1:5]}
    for name in SERVICES:
        assert rows[svc(name)][:4] == [svc(name), app_id(name), world.image(name, NEWEST[name]),
                                       world.image(name, AT_19[name])]
    assert rows[svc("worker")][4] == "filled from an older date (2026-11-18) [built 2026-11-18 14:45, release 207-master]"
    assert rows[svc("api")][4] == "released that day [built 2026-11-19 11:00, release 512-master]"
    assert lines[5] == f"4 of 4 services change (rollback to {DATE}), rule: built"
    assert world.puts() == [] and world.tags() == NEWEST
    assert (world.dump / "rollback.html").is_file()


def test_plan_json_is_machine_readable(world: World, cli) -> None:
    r = cli("plan", f"--date={DATE}", "--env=prod", f"--dump={world.dump}", "--json", env=world.env)

    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert (data["env"], data["date"], data["changes"]) == ("prod", DATE, 4)
    by_service = {s["service"]: s for s in data["services"]}
    assert by_service[svc("worker")]["target"] == world.image("worker", "207-master")
    assert by_service[svc("worker")]["tag"] == "207-master"
    assert {s["action"] for s in data["services"]} == {"change"}


def test_run_dry_run_shows_the_plan_and_makes_no_put(world: World, cli) -> None:
    r = cli(*run_args(world, "--dry-run"), env=world.env)

    assert r.code == 0, r.err
    assert "4 of 4 services change" in r.out and world.image("worker", "207-master") in r.out
    assert world.puts() == [] and world.tags() == NEWEST
    assert not list(world.dump.glob("snapshot-*.json"))


def test_the_legacy_command_line_works_as_written(world: World, cli, slack_recorder: Any) -> None:
    env = {"MARATHON_URL": world.sim.url}  # the old script's line carries user and password itself
    r = cli("run", f"--date={DATE}", "--env=prod", f"--slack={slack_recorder.webhook_url}", f"--user={USER}",
            f"--pwd={PASSWORD}", f"--dump={world.dump}", env=env)

    assert r.code == 0, r.err
    assert world.tags() == AT_19
    texts = [str(m.body.get("text", "")) for m in slack_recorder.wait_for(2)]
    assert any(f"Rollback of prod to {DATE} started" in t for t in texts)
    assert any(f"Rollback of prod to {DATE} succeeded" in t for t in texts)


def test_a_service_with_no_release_at_or_before_the_date_is_left_as_it_is_and_the_run_exits_0(
        indexed: Indexed, make_world: Callable[..., World], cli, slack_recorder: Any) -> None:
    w = make_world()
    index = json.loads(indexed.index_text)
    index["all"].append(svc("batch"))  # `get` found no release of it on this branch
    (w.dump / "rollback.json").write_text(json.dumps(index))
    batch = {**fleet_apps(indexed)[1], "id": app_id("batch")}
    batch["container"] = {**batch["container"], "docker": {"image": w.image("batch", "3-master")}}
    resp = requests.put(f"{w.sim.url}/v2/apps{app_id('batch')}", json=batch, auth=(USER, PASSWORD), timeout=5)
    assert resp.status_code == 201, resp.text
    w.wait_idle()
    w.sim.reset_requests()

    r = cli(*run_args(w, f"--slack={slack_recorder.webhook_url}"), env=w.env)

    assert r.code == 0, r.err
    row = next(line for line in r.out.splitlines() if line.startswith(svc("batch")))
    assert row.endswith(f"no release at or before {DATE}: left as it is")
    assert f"/v2/apps{app_id('batch')}" not in w.put_paths() and w.tags() == AT_19
    batch_outcome = next(s for s in w.report()["services"] if s["service"] == svc("batch"))
    assert (batch_outcome["status"], batch_outcome["action"]) == ("skipped", "no-release")
    assert w.report()["summary"] == {"changed": 4, "failed": 0, "unchanged": 0, "skipped": 1, "rolled_back": 0}
    assert any(f"Left as is (no release at or before {DATE}): {svc('batch')}" in json.dumps(m.body)
               for m in slack_recorder.received)


def test_a_second_run_of_the_same_date_makes_no_put(world: World, cli) -> None:
    first = cli(*run_args(world), env=world.env)
    assert first.code == 0, first.err
    world.sim.reset_requests()

    second = cli(*run_args(world), env=world.env)

    assert second.code == 0, second.err
    assert world.puts() == []
    assert "NOTHING_TO_DO: 0 changed, 0 failed, 4 unchanged, 0 skipped" in second.out
    assert world.report()["state"] == "NOTHING_TO_DO"
    assert world.tags() == AT_19


def test_every_put_carries_the_whole_container_with_only_the_image_changed_and_no_version(
        world: World, cli) -> None:
    before = world.sim.apps

    r = cli(*run_args(world), env=world.env)

    assert r.code == 0, r.err
    puts = world.puts()
    assert sorted(p["path"] for p in puts) == sorted(f"/v2/apps{app_id(n)}" for n in SERVICES)  # one PUT per app
    for put in puts:
        name = put["path"].rsplit("/", 1)[1]
        expected = copy.deepcopy(before[app_id(name)]["container"])
        expected["docker"]["image"] = world.image(name, AT_19[name])
        assert put["json"] == {"container": expected}, name
        assert "version" not in put["json"]
    after = world.sim.apps
    for name in SERVICES:  # nothing but the image changed in the definitions
        for key in ("env", "labels", "healthChecks", "instances", "cpus", "mem", "portDefinitions"):
            assert after[app_id(name)].get(key) == before[app_id(name)].get(key), (name, key)


def test_waves_from_the_config_deploy_the_frontend_after_the_backends_finished(world: World, cli) -> None:
    config = world.config(f"waves:\n  - [{svc('api')}, {svc('auth')}, {svc('worker')}]\n  - [{svc('web')}]\n")

    r = cli(*run_args(world, config), env=world.env)

    assert r.code == 0, r.err
    times = {r["path"].rsplit("/", 1)[1]: r["time"] for r in world.puts()}
    backends = max(times[n] for n in ("api", "auth", "worker"))
    # each backend deployment takes at least deploy_seconds; web's PUT waited for all of them
    assert times["web"] >= backends + DEPLOY_SECONDS
    wave1 = r.err.split("wave 1/2: ", 1)[1].split(" (deadline", 1)[0]
    assert sorted(wave1.split(", ")) == sorted(svc(n) for n in ("api", "auth", "worker"))
    assert f"wave 2/2: {svc('web')}" in r.err
    assert world.tags() == AT_19


def write_lock(pid: int) -> Path:
    """A lock file whose record names ``pid``, as a run that died left it (nobody holds its flock)."""
    path = env_lock()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "command": "run", "since": time.time()}))
    return path


def test_a_lock_held_by_a_live_process_refuses_the_run(world: World, cli) -> None:
    holder = hold_lock()
    try:
        r = cli(*run_args(world), env=world.env)

        assert r.code == 3
        assert f"another rollback of prod is running: run (pid {holder.pid}" in r.err
        assert world.puts() == [] and env_lock().exists()  # the other run's lock is left alone
    finally:
        release(holder)


def test_a_stale_lock_of_a_dead_process_is_taken_over(world: World, cli) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = write_lock(dead.pid)

    r = cli(*run_args(world), env=world.env)

    assert r.code == 0, r.err
    assert f"taking over a stale lock of prod held by run (pid {dead.pid}" in r.err
    assert world.tags() == AT_19 and not lock.exists()


@pytest.mark.slow
def test_sigterm_in_the_middle_of_a_run_starts_nothing_new_and_writes_the_report(
        make_world: Callable[..., World]) -> None:
    w = make_world(deploy_seconds=3.0)
    config = w.config(f"waves:\n  - [{svc('api')}, {svc('auth')}, {svc('worker')}]\n  - [{svc('web')}]\n")
    proc = subprocess.Popen([sys.executable, "rollback.py", *run_args(w, config, timeout="20")], cwd=ROOT,
                            env=subprocess_env(**w.env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = signal_when(proc, lambda: len(w.puts()) == 3, "the first wave's three PUTs", signal.SIGTERM, timeout=20)

    assert proc.returncode == 1, err
    assert "SIGTERM received: starting nothing new" in err
    assert f"/v2/apps{app_id('web')}" not in w.put_paths()
    report = w.report()
    assert report["state"] == "INTERRUPTED"
    statuses = {s["service"]: s for s in report["services"]}
    assert statuses[svc("web")]["status"] == "not-started"
    for name in ("api", "auth", "worker"):  # what was in flight is named, with its deployment
        assert statuses[svc(name)]["status"] == "interrupted"
        assert statuses[svc(name)]["deployment_id"] in statuses[svc(name)]["error"]
    assert "to undo: rollback.py undo --snapshot=" in out
    assert not env_lock().exists()


def test_run_to_last_good_puts_back_what_the_ledger_recorded(world: World, cli) -> None:
    first = cli(*run_args(world), env=world.env)
    assert first.code == 0, first.err
    world.put_image("api", "515-master")  # a later change outside the tool
    world.wait_idle()
    world.sim.reset_requests()

    r = cli("run", "--to=last-good", "--env=prod", f"--dump={world.dump}", "--timeout=3", env=world.env)

    assert r.code == 0, r.err
    assert "last good state of prod:" in r.err and "by alice" in r.err
    assert world.tags() == AT_19
    assert world.put_paths() == [f"/v2/apps{app_id('api')}"]  # only what differs is redeployed
    entries = [json.loads(line) for line in (world.dump / "ledger.jsonl").read_text().splitlines()]
    assert [(e["command"], e["state"]) for e in entries] == [("run", "SUCCEEDED"), ("run", "SUCCEEDED")]
    assert entries[0]["images"] == {svc(n): world.image(n, AT_19[n]) for n in SERVICES}


def test_run_to_last_good_without_a_ledger_exits_2(world: World, cli) -> None:
    r = cli("run", "--to=last-good", "--env=prod", f"--dump={world.dump}", env=world.env)

    assert r.code == 2
    assert "use --date instead" in r.err
