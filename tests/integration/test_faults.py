"""Fault injection, end to end (docs/reliability.md): what the tool does when the registry, Marathon or Slack fail.

The registry faults go through testbed.proxy's RegistryProxy in front of the real registry; the
Marathon faults through the simulator's fault rules; Slack is a closed port. Each test checks
the three promises of the issue: keep working where it can, lose nothing, say what happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from marathonsim import Simulator
from testbed.demo import sample_apps
from tests.fleet_support import Indexed, env_lock, index_sample_fleet


ROOT = Path(__file__).resolve().parents[2]


PREFIX = "t/rel-faults/"


NAMES = ["api", "worker", "auth", "web"]


DATE = "2026-11-19"


STATUSES = {"succeeded", "failed", "not-started", "interrupted", "unchanged", "skipped"}


def svc(name: str) -> str:
    return PREFIX + name


def app_id(name: str) -> str:
    return f"/ds/prod/shop/{name}"


REPOS = "--repo=" + ",".join(svc(n) for n in NAMES)


WAVES = f"waves:\n  - [{svc('api')}, {svc('worker')}, {svc('auth')}]\n  - [{svc('web')}]\n"


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    """The sample fleet pushed once into the real registry, and the rollback.json of a clean get."""
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[svc(n) for n in NAMES],
                              dump=tmp_path_factory.mktemp("clean-get"))


@dataclass
class World:
    sim: Simulator
    dump: Path
    env: dict[str, str]
    original: dict[str, str]

    def images(self) -> dict[str, str]:
        apps = self.sim.apps
        return {n: apps[app_id(n)]["container"]["docker"]["image"] for n in NAMES}

    def puts(self, name: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.sim.requests
                if r["method"] == "PUT" and (name is None or r["path"] == f"/v2/apps{app_id(name)}")]

    def files(self, pattern: str) -> list[Path]:
        return sorted(self.dump.glob(pattern))

    def report(self) -> dict[str, Any]:
        [path] = self.files("report-*.json")
        return json.loads(path.read_text())

    def run_args(self, *extra: str, timeout: str = "2") -> list[str]:
        return ["run", f"--date={DATE}", "--env=prod", f"--dump={self.dump}", f"--timeout={timeout}",
                f"--config={self.dump / 'waves.yaml'}", *extra]


@pytest.fixture
def make_world(indexed: Indexed, tmp_path: Path) -> Iterator[Callable[..., World]]:
    """A simulator running the four apps at their newest release, and a --dump with rollback.json."""
    sims: list[Simulator] = []

    def make(**sim_options: Any) -> World:
        sim_options.setdefault("deploy_seconds", 0.2)
        apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
        sim = Simulator(apps=apps, **sim_options).start()
        sims.append(sim)
        dump = tmp_path / f"dump{len(sims)}"
        dump.mkdir()
        (dump / "rollback.json").write_text(indexed.index_text)
        (dump / "waves.yaml").write_text(WAVES)
        world = World(sim, dump, {"MARATHON_URL": sim.url, "BUILD_USER": "alice"}, {})
        world.original = world.images()
        return world

    yield make
    for sim in sims:
        sim.stop()


def when_puts(sim: Simulator, count: int, action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` as soon as the simulator has received ``count`` PUTs: a fault in the middle of a run."""
    def watch() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if sum(1 for r in sim.requests if r["method"] == "PUT") >= count:
                action()
                return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def assert_every_service_tracked(world: World, report: dict[str, Any]) -> None:
    """The report names every service with a status, and the status matches where Marathon has it."""
    services = {s["service"]: s for s in report["services"]}
    assert sorted(services) == sorted(svc(n) for n in NAMES)
    now = world.images()
    for name in NAMES:
        entry = services[svc(name)]
        assert entry["status"] in STATUSES, entry
        assert entry["from"] == world.original[name]
        if entry["status"] in ("succeeded",):
            assert now[name] == entry["to"], (name, entry)
        if entry["status"] in ("not-started",):
            assert now[name] == entry["from"], (name, entry)
        if entry["status"] in ("failed", "interrupted"):
            assert entry["error"], entry


def assert_snapshot_of_the_original(world: World) -> Path:
    [snapshot] = world.files("snapshot-*.json")
    data = json.loads(snapshot.read_text())
    assert {a["app_id"]: a["image"] for a in data["apps"]} == {app_id(n): world.original[n] for n in NAMES}
    return snapshot


def undo_restores_everything(world: World, cli: Any, snapshot: Path) -> None:
    result = cli("undo", f"--snapshot={snapshot}", "--force", f"--dump={world.dump}", "--timeout=5", env=world.env)
    assert result.code == 0, result.err
    assert world.images() == world.original
    assert len(world.files("report-*.json")) == 2, "undo must not overwrite the run's report"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_get_through_a_registry_failing_one_request_in_five_writes_the_index_of_a_clean_run(
        indexed: Indexed, proxy_factory: Callable[..., Any], tmp_path: Path, cli, seed: int) -> None:
    proxy = proxy_factory(indexed.registry_url, seed=seed, fault_statuses=(500, 503, 429))
    clean, faulty = tmp_path / "clean", tmp_path / "faulty"
    argv = ["get", REPOS, "--env=prod", f"--registry={proxy.url}", "--no-cache"]
    assert cli(*argv, f"--dump={clean}").code == 0
    clean_requests = proxy.counts["total"]

    proxy.reset_counts()
    proxy.fault_rate = 0.2
    result = cli(*argv, f"--dump={faulty}")

    assert result.code == 0, result.err
    assert error_lines(result.err) == []
    rate = proxy.faults_injected / proxy.counts["total"]
    assert proxy.faults_injected >= 5 and 0.1 <= rate <= 0.3, (proxy.faults_injected, proxy.counts)
    assert proxy.counts["total"] == clean_requests + proxy.faults_injected  # each fault cost one retry, no more
    docs = [json.loads((d / "rollback.json").read_text()) for d in (clean, faulty)]
    for doc in docs:
        del doc["generated_at"]
    assert docs[0] == docs[1]
    assert sum(len(v) for v in docs[1]["rollbacks"].values()) == 23


def _kill_after(proxy: Any, responses: int) -> None:
    """Stop listening (connection refused) once ``responses`` answers have gone out."""
    lock, seen = threading.Lock(), [0]

    def hook(path: str, status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        with lock:
            seen[0] += 1
            if seen[0] == responses:
                threading.Thread(target=proxy.kill, daemon=True).start()
        return status, headers, body

    proxy.response_hook = hook


@pytest.mark.parametrize("death", ["connections-dropped", "connection-refused"])
def test_a_registry_dying_in_the_middle_of_get_exits_4_and_keeps_the_previous_rollback_json(
        indexed: Indexed, proxy_factory: Callable[..., Any], tmp_path: Path, cli, death: str) -> None:
    proxy = proxy_factory(indexed.registry_url)
    argv = ["get", REPOS, "--env=prod", f"--registry={proxy.url}", "--no-cache", f"--dump={tmp_path}"]
    assert cli(*argv).code == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert {"rollback.json", "rollback.html"} <= set(before)
    clean_requests = proxy.counts["total"]
    proxy.reset_counts()
    if death == "connections-dropped":
        proxy.die_after = clean_requests // 2
    else:
        _kill_after(proxy, clean_requests // 2)

    started = time.monotonic()
    result = cli(*argv)

    assert result.code == 4, result.err
    [line] = error_lines(result.err)
    assert "registry" in line and proxy.url in line, line
    assert "Traceback" not in result.err
    assert time.monotonic() - started < 15
    assert 0 < proxy.counts["total"] < 2 * clean_requests
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # byte for byte, and no temp file left behind


def _fault_after_wave_1(**rule: Any) -> Callable[[World], None]:
    def arm(world: World) -> None:
        when_puts(world.sim, 3, lambda: world.sim.set_fault(**rule))
    return arm


def _fault_now(**rule: Any) -> Callable[[World], None]:
    def arm(world: World) -> None:
        world.sim.set_fault(**rule)
    return arm


WEB_PUT = {"method": "PUT", "path_prefix": f"/v2/apps{app_id('web')}"}


MARATHON_FAULTS = [
    # id, simulator options, how the fault is armed, --timeout, exit code, web's status
    pytest.param({"deploy_seconds": 1.0}, _fault_after_wave_1(error_rate=1.0, status=500), "1.5", 4, "not-started",
                 id="every-request-500-after-wave-1-started"),
    pytest.param({"deploy_seconds": 1.5}, _fault_now(delay=0.5), "0.8", 1, "not-started",
                 id="every-answer-0.5s-late"),
    pytest.param({"deploy_seconds": 1.0}, _fault_after_wave_1(drop_rate=1.0), "1.5", 4, "not-started",
                 id="connections-dropped-after-wave-1-started"),
    pytest.param({}, _fault_now(error_rate=1.0, status=500, **WEB_PUT), "2", 4, "failed",
                 id="put-of-wave-2-answered-500"),
    pytest.param({}, _fault_now(drop=5, **WEB_PUT), "2", 4, "failed",
                 id="put-of-wave-2-dropped-unapplied"),
]


@pytest.mark.parametrize("sim_options, arm, timeout, code, web_status", MARATHON_FAULTS)
def test_marathon_failing_during_run_leaves_no_service_untracked_and_undo_works_once_it_is_back(
        make_world: Callable[..., World], cli, sim_options: dict[str, Any], arm: Callable[[World], None],
        timeout: str, code: int, web_status: str) -> None:
    world = make_world(**sim_options)
    arm(world)

    started = time.monotonic()
    result = cli(*world.run_args(timeout=timeout), env=world.env)
    elapsed = time.monotonic() - started

    assert result.code == code, (result.out, result.err)
    assert "Traceback" not in result.out + result.err
    assert elapsed < float(timeout) + 6, "the wave deadline holds even when Marathon is slow or failing"
    snapshot = assert_snapshot_of_the_original(world)
    report = world.report()
    assert report["state"] == "FAILED" and report["exit_code"] == code
    assert report["snapshot"] == str(snapshot)
    assert_every_service_tracked(world, report)
    web = next(s for s in report["services"] if s["service"] == svc("web"))
    assert web["status"] == web_status
    assert len(world.puts("web")) <= 1, "a PUT whose answer was lost is never resent blindly"
    assert world.files("junit-*.xml")
    assert f"to undo: rollback.py undo --snapshot={snapshot}" in result.out
    assert not env_lock().exists()

    world.sim.clear_faults()
    undo_restores_everything(world, cli, snapshot)


def test_a_put_applied_but_whose_answer_was_lost_is_found_again_not_resent(
        make_world: Callable[..., World], cli) -> None:
    world = make_world()
    world.sim.set_fault(drop=1, after=True, **WEB_PUT)

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 0, result.err
    assert len(world.puts("web")) == 1
    assert world.report()["state"] == "SUCCEEDED"
    assert all(s["status"] == "succeeded" for s in world.report()["services"])


def test_a_deployment_already_in_flight_refuses_the_run_with_exit_3_before_any_change(
        make_world: Callable[..., World], cli) -> None:
    world = make_world(deploy_seconds=30)
    resp = requests.put(f"{world.sim.url}/v2/apps{app_id('web')}", json={"instances": 3}, timeout=5)
    assert resp.status_code == 200
    world.sim.reset_requests()

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 3
    [line] = error_lines(result.err)
    assert app_id("web") in line and "--force" in line
    assert world.puts() == []
    assert world.files("snapshot-*.json") == []
    assert not env_lock().exists()


def test_a_409_on_the_put_exits_3_and_the_report_says_locked(make_world: Callable[..., World], cli) -> None:
    world = make_world()
    world.sim.set_fault(error_rate=1.0, status=409, **WEB_PUT)

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 3, result.err
    report = world.report()
    web = next(s for s in report["services"] if s["service"] == svc("web"))
    assert web["status"] == "failed" and web["failure_class"] == "locked"
    assert_every_service_tracked(world, report)


def _subprocess_env(world: World) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MARATHON_", "DOCKER_REGISTRY", "ROLLBACK_")) or k == "ROLLBACK_LOCK_DIR"}
    env.update(world.env)
    return env


def _start_run(world: World, timeout: str = "20") -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(ROOT / "rollback.py"), *world.run_args(timeout=timeout)],
                            env=_subprocess_env(world), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


