"""Whole runs sharing one ZooKeeper state store (real server, the Marathon simulator, the real registry).

Two machines are two processes with their own HOME, --dump, lock folder and host name (a UTS
namespace: ``unshare --uts``), one of them another unix user (``setpriv``, when running as root).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from fleetrewind.model.lockrecord import LockRecord
from fleetrewind.state.open import open_store
from fleetrewind.state.url import parse_state_url
from marathonsim import Simulator
from testbed.demo import sample_apps
from testbed.zookeeper import ZooKeeper
from tests.fleet_support import Indexed, index_sample_fleet, wait_for

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "t/zk-runs/"
NAMES = ["api", "worker", "auth", "web"]
DATE = "2026-11-19"
SESSION = 1.0  # seconds: config zk_session_timeout of these runs (a stopped holder loses its lock fast)


def svc(name: str) -> str:
    return PREFIX + name


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[svc(n) for n in NAMES],
                              dump=tmp_path_factory.mktemp("zk-get"))


@dataclass
class Machine:
    """One machine: its host name, unix user, HOME, --dump and lock folder; the shared store and Marathon."""

    host: str
    folder: Path
    state: str
    marathon: str
    user: int | None = None  # run as this uid (another unix user), when the tests run as root
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def dump(self) -> Path:
        return self.folder / "dump"

    def argv(self, *args: str) -> list[str]:
        wrap = ["unshare", "--uts", "sh", "-c", f'hostname {self.host} && exec "$@"', "sh"]
        if self.user is not None:
            wrap += ["setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--clear-groups"]
        return [*wrap, sys.executable, str(ROOT / "rollback.py"), *args]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MARATHON_", "ROLLBACK_", "XDG_"))}
        env.update(HOME=str(self.folder / "home"), MARATHON_URL=self.marathon, ROLLBACK_STATE=self.state,
                   ROLLBACK_LOCK_DIR=str(self.folder / "locks"), BUILD_USER=f"ops@{self.host}",
                   ROLLBACK_CONFIG=str(self.folder / "config.yaml"), PYTHONPATH=str(ROOT))
        return env

    def start(self, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(self.argv(*args, f"--dump={self.dump}"), env=self.env(), cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(proc)
        return proc

    def call(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args, f"--dump={self.dump}"), env=self.env(), cwd=ROOT, text=True,
                              capture_output=True, timeout=timeout)

    def run_args(self, timeout: str = "20") -> list[str]:
        return ["run", f"--date={DATE}", "--env=prod", f"--timeout={timeout}"]

    def reports(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.dump.glob("report-*.json"))]


@dataclass
class Fleet:
    sim: Simulator
    machines: Callable[..., Machine]

    def puts(self, name: str | None = None) -> int:
        return sum(1 for r in self.sim.requests if r["method"] == "PUT"
                   and (name is None or r["path"] == f"/v2/apps/ds/prod/shop/{name}"))


@pytest.fixture
def fleet(indexed: Indexed, zk: ZooKeeper) -> Iterator[Callable[..., Fleet]]:
    made: list[tuple[Simulator, list[Machine], list[Path]]] = []

    def make(deploy_seconds: float = 0.3) -> Fleet:
        sim = Simulator(apps=sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}"), deploy_seconds=deploy_seconds).start()
        machines: list[Machine] = []
        folders: list[Path] = []
        made.append((sim, machines, folders))

        def machine(host: str, *, other_user: bool = False) -> Machine:
            folder = Path(tempfile.mkdtemp(prefix=f"zk-{host}-"))  # outside pytest's 0700 tree: another user reads it
            folders.append(folder)
            os.chmod(folder, 0o755)
            (folder / "dump").mkdir()
            (folder / "home").mkdir()
            (folder / "dump" / "rollback.json").write_text(indexed.index_text)
            (folder / "config.yaml").write_text(f"zk_session_timeout: {SESSION}\nwaves:\n"
                                                f"  - [{svc('api')}, {svc('worker')}, {svc('auth')}]\n"
                                                f"  - [{svc('web')}]\n")
            user = 65534 if other_user and os.geteuid() == 0 else None
            if user is not None:
                for path in (folder, folder / "dump", folder / "home", folder / "dump" / "rollback.json"):
                    os.chown(path, user, user)
            m = Machine(host, folder, zk.url(zk.chroot), sim.url, user)  # type: ignore[attr-defined]
            machines.append(m)
            return m

        return Fleet(sim, machine)

    yield make
    for sim, machines, folders in made:
        for m in machines:
            for proc in m.procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)
                    proc.kill()
                proc.communicate(timeout=10)
        sim.stop()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def _error(text: str) -> str:
    return [line for line in text.splitlines() if line.startswith("error:")][-1]


def test_two_machines_two_users_one_environment_exactly_one_run_proceeds(fleet: Callable[..., Fleet]) -> None:
    for attempt in range(3):
        world = fleet(deploy_seconds=0.5)
        a, b = world.machines("agent-a"), world.machines("agent-b", other_user=True)
        procs = {m.host: m.start(*m.run_args()) for m in (a, b)}
        done = {host: (proc.wait(60), proc.communicate()) for host, proc in procs.items()}
        codes = sorted(code for code, _ in done.values())
        assert codes == [0, 3], (attempt, {h: (c, out[1][-800:]) for h, (c, out) in done.items()})
        [winner] = [h for h, (c, _) in done.items() if c == 0]
        [loser] = [h for h, (c, _) in done.items() if c == 3]
        refused = _error(done[loser][1][1])
        assert f"another rollback of prod is running: run (pid" in refused and f"on {winner}, user ops@{winner}" in refused
        assert "its lock is in zookeeper (zk://" in refused
        assert world.puts() == 4  # the refused run sent none


def test_fifty_races_between_two_users_on_two_hosts_let_exactly_one_proceed(zk: ZooKeeper) -> None:
    """The lock across unix users, host names and HOMEs, 50 times: two long-lived contenders (a process
    each, opening the store as the tool does), asked to take the lock at the same moment, with --force."""
    contenders: dict[str, subprocess.Popen[str]] = {}
    try:
        for host, other_user in (("agent-a", False), ("agent-b", True)):
            home = Path(tempfile.mkdtemp(prefix=f"zk-race-{host}-"))
            os.chmod(home, 0o755)
            user = 65534 if other_user and os.geteuid() == 0 else None
            if user is not None:
                os.chown(home, user, user)
            machine = Machine(host, home, zk.url(zk.chroot), "", user)  # type: ignore[attr-defined]
            wrap = machine.argv()[:-1]  # the namespace and user wrapper and Python, without rollback.py
            env = {**machine.env(), "TMPDIR": str(home), "USER": "nobody" if user is not None else "root"}
            contenders[host] = subprocess.Popen(
                [*wrap, "-m", "testbed.lock_contender", zk.url(zk.chroot), "prod", host],  # type: ignore[attr-defined]
                env=env, cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for attempt in range(50):
            for proc in contenders.values():
                _say(proc, "go")
            said = {host: _hear(proc) for host, proc in contenders.items()}
            winners = [h for h, line in said.items() if line == "proceeded"]
            assert len(winners) == 1, (attempt, said)
            [loser] = [h for h in said if h not in winners]
            assert said[loser].startswith("refused another rollback of prod is running"), said
            assert f"on {winners[0]}" in said[loser] and "--force cannot take it over" in said[loser], said
            for proc in contenders.values():
                _say(proc, "release")
            assert [_hear(proc) for proc in contenders.values()] == ["released", "released"]
    finally:
        for proc in contenders.values():
            _, err = proc.communicate(timeout=20)  # closes stdin: the contender ends
            assert proc.returncode == 0, err[-2000:]


def _say(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def _hear(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


def test_a_holder_stopped_past_its_session_loses_the_lock_and_starts_nothing_more(
        fleet: Callable[..., Fleet], zk: ZooKeeper) -> None:
    world = fleet(deploy_seconds=0.5)
    holder, other = world.machines("agent-a"), world.machines("agent-b")
    proc = holder.start(*holder.run_args())
    wait_for(lambda: world.puts() >= 1, "the holder's first PUT", timeout=20)
    proc.send_signal(signal.SIGSTOP)
    store = open_store(parse_state_url(other.state), lock_dir=other.folder / "locks", shared=False,
                       ledger=other.folder / "l", dump=other.dump, session_timeout=SESSION)
    try:
        record = LockRecord(host="agent-b", pid=1, user="ops", run_id="probe", command="run", since=time.time())
        deadline = time.monotonic() + 15
        while True:  # the stopped holder's session expires: the lock is free for another machine
            try:
                with store.lock("prod", record, force=False, warn=lambda _: None):
                    break
            except Exception:
                assert time.monotonic() < deadline, "a stopped holder kept the lock past its session"
                time.sleep(0.1)
    finally:
        store.close()
    puts_before = world.puts()
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    # Nothing new started after it resumed: no PUT of wave 2, and of wave 1 only those its threads had already
    # begun to write when the stop came (the fence is asked before each write; docs/reliability.md, "The
    # ZooKeeper store", says what is left between the last question and the write). Each at most once.
    assert world.puts("web") == 0 and puts_before <= world.puts() <= 3
    assert all(world.puts(name) <= 1 for name in ("api", "worker", "auth"))
    [report] = holder.reports()
    web = next(s for s in report["services"] if s["service"] == svc("web"))
    assert web["status"] == "not-started"
    # the service that met the lost lock says so: web at its wave's gate, or a wave-1 PUT the stop caught
    # between its gate and its write (its fence closed; the run then stops before web's wave)
    said = [s for s in report["services"] if "could no longer be proved held" in (s.get("error") or "")]
    assert said and all(s["status"] == "not-started" for s in said), report["services"]


def test_a_killed_run_is_named_by_status_and_run_on_another_machine_and_undone_from_there(
        fleet: Callable[..., Fleet]) -> None:
    world = fleet(deploy_seconds=0.3)
    killed, other = world.machines("agent-a"), world.machines("laptop")
    proc = killed.start(*killed.run_args())
    wait_for(lambda: world.puts() >= 1, "the first PUT", timeout=20)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    [snapshot] = list(killed.dump.glob("snapshot-*.json"))

    # until its session expires (zk_session_timeout) the killed run still holds the lock, as ZooKeeper sees it
    deadline = time.monotonic() + 15
    while "lock: held by run" in (status := other.call("status", "--env=prod")).stdout:
        assert time.monotonic() < deadline, "the killed run's session never expired"
        time.sleep(0.2)
    assert "interrupted run" in status.stdout and "from agent-a at" in status.stdout, status.stdout + status.stderr
    assert f"its snapshot: {snapshot}" in status.stdout and f"to undo: rollback.py undo --snapshot={snapshot} --force" in status.stdout
    assert "(store: zookeeper (zk://" in status.stdout

    refused = other.call(*other.run_args())
    assert refused.returncode == 3, refused.stderr
    assert "interrupted run" in _error(refused.stderr) and "pass --force to acknowledge it" in _error(refused.stderr)

    time.sleep(1.0)  # the killed run's deployments end in the simulator
    snapshot.unlink()  # another machine has no such file: undo reads the snapshot from ZooKeeper
    undo = other.call("undo", f"--snapshot={snapshot}", "--timeout=20")
    assert undo.returncode == 0, undo.stderr
    assert "undoing the interrupted run" in undo.stderr
    after = other.call("status", "--env=prod")
    assert "interrupted run" not in after.stdout and "lock: free (store: zookeeper" in after.stdout


def test_the_store_down_at_start_is_exit_4_and_nothing_changes(fleet: Callable[..., Fleet], zk: ZooKeeper) -> None:
    world = fleet()
    machine = world.machines("agent-a")
    zk.stop()
    result = machine.call(*machine.run_args())
    assert result.returncode == 4, result.stderr
    assert _error(result.stderr).startswith("error: the state store zk://")
    assert "nothing was changed" in _error(result.stderr)
    assert world.puts() == 0 and not list(machine.dump.glob("snapshot-*.json"))


def test_the_store_lost_mid_run_starts_no_new_deployment_and_writes_the_report(
        fleet: Callable[..., Fleet], zk: ZooKeeper) -> None:
    world = fleet(deploy_seconds=1.0)
    machine = world.machines("agent-a")
    proc = machine.start(*machine.run_args())
    wait_for(lambda: world.puts() >= 1, "the first PUT", timeout=20)
    zk.stop()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    assert world.puts("web") == 0  # wave 2 never started
    [report] = machine.reports()
    assert report["state"] == "FAILED"
    first_wave = [s for s in report["services"] if s["service"] != svc("web")]
    assert all(s["status"] == "succeeded" for s in first_wave)  # what it started, it watched to the end
    assert f"report written to {machine.dump}" in err or "report" in err


def test_the_file_store_names_a_killed_run_too_and_force_acknowledges_it(fleet: Callable[..., Fleet]) -> None:
    world = fleet(deploy_seconds=0.3)
    machine = world.machines("agent-a")
    machine.state = "file"  # the embedded default: the record lies beside the lock, in the lock folder
    proc = machine.start(*machine.run_args())
    wait_for(lambda: world.puts() >= 1, "the first PUT", timeout=20)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert (machine.folder / "locks" / "rollback-prod.run").read_text()

    status = machine.call("status", "--env=prod")
    assert "interrupted run" in status.stdout and "from agent-a at" in status.stdout, status.stderr
    assert f"(store: file ({machine.folder / 'locks'}))" in status.stdout
    refused = machine.call(*machine.run_args())
    assert refused.returncode == 3 and "interrupted run" in _error(refused.stderr)

    time.sleep(1.0)  # the killed run's deployments end in the simulator
    forced = machine.call(*machine.run_args(), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "(acknowledged with --force)" in forced.stderr
    assert "interrupted run" not in machine.call("status", "--env=prod").stdout
