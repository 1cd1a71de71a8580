"""Fault injection, end to end (docs/reliability.md): two runs on one environment and the lock they
share, SIGTERM mid-run (a Jenkins abort), Slack slow or unreachable, and files in a folder someone
else can write. The registry and Marathon faults are in tests/integration/test_faults.py, whose
world this file shares."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Callable, Iterator

import pytest

from testbed.serving import BackgroundServer
from tests.fleet_support import env_lock, signal_when, wait_for
from tests.integration.test_faults import (World, _start_run, assert_every_service_tracked,
    assert_snapshot_of_the_original, error_lines, indexed, make_world, svc, undo_restores_everything)


@contextmanager
def _first_run_in_flight(world: World) -> Iterator[subprocess.Popen[str]]:
    """A run of the world in a subprocess, once its first PUT is in; afterwards it must have ended well."""
    first = _start_run(world)
    try:
        wait_for(lambda: len(world.puts()) >= 1, "the first run's first PUT")
        yield first
        _, err = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err


def test_two_runs_on_one_environment_the_second_is_refused_with_exit_3(
        make_world: Callable[..., World], cli) -> None:
    world = make_world(deploy_seconds=0.6)
    with _first_run_in_flight(world) as first:
        puts_before = len(world.puts())

        second = cli(*world.run_args(), env=world.env)

        assert second.code == 3
        [line] = error_lines(second.err)
        assert "another rollback of prod is running" in line and f"pid {first.pid}" in line
    assert len(world.puts()) == 4 and puts_before >= 1  # the second run sent none
    assert len(world.files("snapshot-*.json")) == 1
    assert not env_lock().exists()


def test_a_second_run_of_the_environment_with_another_dump_folder_is_refused(
        make_world: Callable[..., World], cli) -> None:
    world = make_world(deploy_seconds=0.6)
    other_dump = world.dump.parent / "other-dump"
    other_dump.mkdir()
    for name in ("rollback.json", "waves.yaml"):
        (other_dump / name).write_text((world.dump / name).read_text())
    with _first_run_in_flight(world) as first:
        args = [a if not a.startswith(("--dump=", "--config=")) else a.replace(str(world.dump), str(other_dump))
                for a in world.run_args()]

        second = cli(*args, env=world.env)

        assert second.code == 3, second.err
        [line] = error_lines(second.err)
        assert "another rollback of prod is running" in line and f"pid {first.pid}" in line
    assert len(world.puts()) == 4
    assert list(other_dump.glob("snapshot-*.json")) == [] and list(other_dump.glob("report-*.json")) == []
    assert not env_lock().exists()


def test_undo_force_while_the_run_is_alive_is_refused_and_the_run_keeps_its_lock(
        make_world: Callable[..., World], cli) -> None:
    world = make_world(deploy_seconds=0.6)
    with _first_run_in_flight(world) as first:
        [snapshot] = world.files("snapshot-*.json")
        puts_before = len(world.puts())

        undo = cli("undo", f"--snapshot={snapshot}", f"--dump={world.dump}", "--force", "--timeout=2", env=world.env)

        assert undo.code == 3, undo.err
        [line] = error_lines(undo.err)
        assert f"pid {first.pid}" in line and "--force cannot take it over" in line
        assert env_lock().exists()
    assert len(world.puts()) == 4 and puts_before >= 1  # undo sent none
    assert not env_lock().exists()


@pytest.mark.parametrize("record", [json.dumps({"host": "h", "pid": 2**40, "command": "run"}).encode(),
                                    b"\xff\xfe\x00garbage", b""])
def test_an_odd_lock_record_left_behind_does_not_stop_the_run(
        make_world: Callable[..., World], cli, record: bytes) -> None:
    world = make_world()
    env_lock().parent.mkdir(parents=True)
    env_lock().write_bytes(record)

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 0, result.err
    assert "Traceback" not in result.err and error_lines(result.err) == []
    assert len(world.puts()) == 4 and not env_lock().exists()


def test_a_lock_path_that_is_a_folder_is_one_error_with_exit_2_before_any_change(
        make_world: Callable[..., World], cli) -> None:
    world = make_world()
    env_lock().mkdir(parents=True)

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 2
    [line] = error_lines(result.err)
    assert f"the lock file {env_lock()} is a folder" in line
    assert world.puts() == [] and world.files("snapshot-*.json") == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)
    return proc.pid


def test_a_stale_lock_left_by_a_crashed_run_is_detected_and_taken_over(
        make_world: Callable[..., World], cli) -> None:
    world = make_world()
    pid = _dead_pid()
    lock = env_lock()
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "command": "run", "since": time.time() - 600}))

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert any("stale lock" in w and f"pid {pid}" in w for w in warnings), result.err
    assert not lock.exists()
    assert len(world.puts()) == 4


def test_a_lock_held_on_another_host_is_not_guessed_stale(make_world: Callable[..., World], cli) -> None:
    world = make_world()
    lock = env_lock()
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"host": "jenkins-agent-7", "pid": 4242, "command": "run", "since": time.time()}))

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 3
    [line] = error_lines(result.err)
    assert "jenkins-agent-7" in line and str(lock) in line and "--force" in line
    assert world.puts() == []
    assert lock.exists()


def test_sigterm_in_the_middle_of_run_starts_nothing_new_and_writes_the_report(
        make_world: Callable[..., World], cli) -> None:
    world = make_world(deploy_seconds=1.5)
    proc = _start_run(world)
    out, err = signal_when(proc, lambda: len(world.puts()) >= 1, "the first PUT of wave 1", signal.SIGTERM)

    assert proc.returncode == 1, err
    assert "SIGTERM received: starting nothing new, writing the report" in err
    assert "Traceback" not in out + err
    assert world.puts("web") == [], "wave 2 must never start"
    report = world.report()
    assert report["state"] == "INTERRUPTED"
    assert_every_service_tracked(world, report)
    statuses = {s["service"]: s["status"] for s in report["services"]}
    assert statuses[svc("web")] == "not-started"
    assert {statuses[svc(n)] for n in ("api", "worker", "auth")} <= {"interrupted", "not-started", "succeeded"}
    assert world.files("junit-*.xml")
    assert not env_lock().exists()
    snapshot = assert_snapshot_of_the_original(world)
    undo_restores_everything(world, cli, snapshot)


@contextmanager
def slow_webhook(delay: float) -> Iterator[tuple[str, threading.Event]]:
    """A webhook that takes ``delay`` seconds to answer; the event is set when the first message arrives."""
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived.set()
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    with BackgroundServer(Handler, name="slow-webhook") as server:
        yield f"{server.url}/services/T0/B0/slowslowslow", arrived


def test_sigterm_while_slack_is_slow_to_announce_the_run_still_ends_with_a_report(
        make_world: Callable[..., World]) -> None:
    world = make_world()
    with slow_webhook(0.8) as (webhook, arrived):
        world.env["SLACK_WEBHOOK_URL"] = webhook
        proc = _start_run(world)
        out, err = signal_when(proc, arrived.is_set, "the run to announce itself", signal.SIGTERM)

    assert proc.returncode == 1, err
    assert world.puts() == []
    report = world.report()
    assert report["state"] == "INTERRUPTED"
    assert {s["status"] for s in report["services"]} == {"not-started"}
    assert not env_lock().exists()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_slack_unreachable_the_rollback_still_succeeds_with_a_warning(make_world: Callable[..., World], cli) -> None:
    world = make_world()
    webhook = f"http://127.0.0.1:{_closed_port()}/services/T0/B0/closedclosedclosed"

    result = cli(*world.run_args(), f"--slack={webhook}", env=world.env)

    assert result.code == 0, result.err
    assert error_lines(result.err) == []
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert warnings, "Slack being down must be said"
    # One warning, however many messages could not be sent.
    assert warnings == ["warning: Slack notification failed (connection refused); the rollback itself is not affected"]
    assert "closedclosedclosed" not in result.err + result.out
    assert world.report()["state"] == "SUCCEEDED"
    assert all(s["status"] == "succeeded" for s in world.report()["services"])


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_ledger_replaced_by_a_symlink_or_a_fifo_is_not_followed_and_the_run_still_ends_with_its_report(
        make_world: Callable[..., World], cli, tmp_path: Path, kind: str) -> None:
    """A shared --dump: a link named ledger.jsonl would make the job's user append to any file it can write,
    and a FIFO would hold the run at its very end (after the changes) forever."""
    world = make_world()
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    if kind == "symlink":
        (world.dump / "ledger.jsonl").symlink_to(victim)
    else:
        os.mkfifo(world.dump / "ledger.jsonl")
        reader = os.open(world.dump / "ledger.jsonl", os.O_RDONLY | os.O_NONBLOCK)  # a writer would not block

    result = cli(*world.run_args(), env=world.env)

    if kind == "fifo":
        assert os.read(reader, 4096) == b"", "nothing was written into the FIFO"
        os.close(reader)
    assert result.code == 0, result.err
    assert victim.read_text() == "untouched\n"
    assert [line for line in result.err.splitlines() if "could not append to the ledger" in line]
    assert world.report()["state"] == "SUCCEEDED"
    assert not env_lock().exists()
