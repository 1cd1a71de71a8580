"""A run that changed Marathon always ends with a report; odd answers are failures, not crashes.

Every way out after the snapshot (a bug, a full disk, an odd Marathon answer, SIGHUP, a closed
stdout) must still write the report (to a fallback folder if --dump fails), say where, release
the lock and exit with the documented code. Before the snapshot, a signal is one clear line.
Odd answers come from a small forwarding server in front of the simulator that rewrites chosen
answers (or answers instead of it).
"""

from __future__ import annotations

import errno
import json
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

import fleetrewind.marathon.platform as platform_module
import fleetrewind.rollout.usecase as usecase_module
import fleetrewind.report.files as files_module
from fleetrewind.state.file import FileStore
from testbed.serving import BackgroundServer
from tests.fleet_support import env_lock, signal_when
from tests.integration.test_faults import (NAMES, ROOT, World, _start_run, _subprocess_env, app_id,  # noqa: F401
                               assert_every_service_tracked, assert_snapshot_of_the_original, error_lines, indexed,
                               make_world, svc, undo_restores_everything, when_puts)

Answer = Callable[[int, Any], "tuple[int, Any] | None"]


class Rewriter:
    """Forwards to the simulator; a rule (method, path) -> answer(status, body) changes what comes back.

    A rule with ``forward=False`` answers without asking the simulator (a PUT never applied).
    """

    def __init__(self, upstream: str) -> None:
        self.rules: dict[tuple[str, str], tuple[Answer, bool]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = self.path.split("?", 1)[0]
                answer, forward = outer.rules.get((self.command, path), (None, True))
                status, data = 502, b""
                if forward:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    resp = requests.request(self.command, upstream + self.path, data=body, headers=headers, timeout=30)
                    status, data = resp.status_code, resp.content
                if answer is not None:
                    changed = answer(status, json.loads(data) if data else None)
                    if changed is not None:
                        status, data = changed[0], json.dumps(changed[1]).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = _any

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = BackgroundServer(Handler, name="marathon-rewriter")
        self.url = self._server.url

    def on(self, method: str, path: str, answer: Answer, *, forward: bool = True) -> None:
        self.rules[(method, path)] = (answer, forward)

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture
def rewriting(make_world: Callable[..., World]) -> Iterator[tuple[World, Rewriter]]:
    world = make_world()
    rewriter = Rewriter(world.sim.url)
    world.env["MARATHON_URL"] = rewriter.url
    yield world, rewriter
    rewriter.stop()


def app_path(name: str) -> str:
    return f"/v2/apps{app_id(name)}"


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {s["service"]: s["status"] for s in report["services"]}


def assert_ended_with_a_report(world: World, result: Any, code: int) -> dict[str, Any]:
    assert result.code == code, (result.out, result.err)
    assert "Traceback" not in result.out + result.err
    report = world.report()
    assert report["exit_code"] == code
    assert_every_service_tracked(world, report)
    assert world.files("junit-*.xml")
    assert not env_lock().exists(), "the lock is released"
    return report


# --- odd Marathon answers: failures of that service, never a crash -------------------------------

@pytest.mark.parametrize("details", [
    [{"path": "/container/docker/image", "errors": [1, {"odd": True}, None]}],
    "not a list",
    [{"path": "/x", "errors": "one string, not a list"}, 42, ["nested"]],
    {"a": "mapping"},
])
def test_a_422_with_odd_details_is_a_rejected_service_and_the_run_ends_with_a_report(
        rewriting: tuple[World, Rewriter], cli, details: Any) -> None:
    world, rewriter = rewriting
    rewriter.on("PUT", app_path("web"), lambda s, b: (422, {"message": "Object is not valid", "details": details}),
                forward=False)

    result = cli(*world.run_args(), env=world.env)

    report = assert_ended_with_a_report(world, result, 1)
    web = next(s for s in report["services"] if s["service"] == svc("web"))
    assert web["status"] == "failed" and web["failure_class"] == "rejected"
    assert "Object is not valid" in web["error"]
    assert world.images()["web"] == world.original["web"]


@pytest.mark.parametrize("field, value", [("instances", "three"), ("instances", True), ("tasks", {"0": {}}),
                                          ("deployments", "dep-1"), ("tasksHealthy", "all")])
def test_an_app_answer_of_the_wrong_shape_during_the_run_fails_that_service_with_a_report(
        rewriting: tuple[World, Rewriter], cli, field: str, value: Any) -> None:
    world, rewriter = rewriting
    broken = threading.Event()

    def odd(status: int, body: Any) -> tuple[int, Any] | None:
        if not broken.is_set():
            return None
        return status, {"app": {**body["app"], field: value}}

    rewriter.on("GET", app_path("api"), odd)
    when_puts(world.sim, 1, broken.set)

    result = cli(*world.run_args(), env=world.env)

    report = assert_ended_with_a_report(world, result, result.code)
    assert result.code in (1, 4)
    api = next(s for s in report["services"] if s["service"] == svc("api"))
    assert api["status"] == "failed", api
    assert f"'{field}' is not" in api["error"]
    assert statuses(report)[svc("web")] == "not-started"


def test_an_answer_for_one_app_carrying_another_apps_id_is_refused_and_nothing_is_sent(
        rewriting: tuple[World, Rewriter], cli) -> None:
    world, rewriter = rewriting
    web = requests.get(f"{world.sim.url}{app_path('web')}", timeout=5).json()
    rewriter.on("GET", app_path("api"), lambda s, b: (200, web))

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 4, result.err
    [line] = error_lines(result.err)
    assert f"Marathon's answer for {app_id('api')} describes another app ('{app_id('web')}')" in line
    assert world.puts() == [], "never a PUT, least of all to the other app"
    assert not env_lock().exists()


@pytest.mark.parametrize("body", [[{"id": app_id("api")}], {"apps": "all"}, "apps", None])
def test_a_list_of_apps_that_is_not_one_is_a_clear_error_before_any_change(
        rewriting: tuple[World, Rewriter], cli, body: Any) -> None:
    world, rewriter = rewriting
    rewriter.on("GET", "/v2/apps", lambda s, b: (200, body))

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 4, result.err
    [line] = error_lines(result.err)
    assert "Marathon's answer to GET /v2/apps is not an object with an 'apps' list" in line
    assert "internal error" not in result.err
    assert world.puts() == []


# --- nothing lost: disk full, bugs, signals, a closed stdout --------------------------------------

def test_a_full_dump_folder_after_the_snapshot_still_writes_the_report_elsewhere_and_says_where(
        make_world: Callable[..., World], cli, monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world()
    real_write_report = files_module.write_report

    def full(folder: Path, *args: Any, **kw: Any) -> Path:
        if folder == world.dump:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_report(folder, *args, **kw)

    def full_too(*_args: Any, **_kw: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files_module, "write_report", full)
    monkeypatch.setattr(files_module, "write_junit", full_too)
    monkeypatch.setattr(FileStore, "append", full_too)

    result = cli(*world.run_args(), env=world.env)

    assert result.code == 0, result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    [fallback] = list(env_lock().parent.glob("report-*.json"))
    assert f"could not write the report to {world.dump}: No space left on device; it was written to {fallback}" \
        in result.err
    report = json.loads(fallback.read_text())
    assert report["state"] == "SUCCEEDED"
    assert_every_service_tracked(world, report)
    assert "could not append to the ledger: No space left on device" in result.err
    assert not env_lock().exists()


def test_no_folder_at_all_prints_the_report_on_stderr(make_world: Callable[..., World], cli,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world()

    def full(*_args: Any, **_kw: Any) -> Path:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(files_module, "write_report", full)
    result = cli(*world.run_args(), env=world.env)

    assert result.code == 0
    assert "error: could not write the report anywhere" in result.err
    printed = result.err.split("here it is:\n", 1)[1]
    assert json.loads(printed[: printed.rindex("}") + 1])["state"] == "SUCCEEDED"


@pytest.mark.parametrize("bug", [ZeroDivisionError("division by zero"), KeyError("tasks"), RecursionError("deep")])
def test_a_bug_in_the_middle_of_a_wave_ends_with_a_report_and_the_lock_released(
        make_world: Callable[..., World], cli, bug: Exception) -> None:
    world = make_world()

    def broken(*_args: Any, **_kw: Any) -> Any:
        raise bug

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(platform_module, "judge", broken)
        result = cli(*world.run_args(), env=world.env)

    report = assert_ended_with_a_report(world, result, 1)
    assert report["state"] == "FAILED"
    assert f"the run stopped after changes began (internal error: {type(bug).__name__}" in result.err
    snapshot = assert_snapshot_of_the_original(world)
    undo_restores_everything(world, cli, snapshot)


@pytest.mark.slow
def test_sighup_in_the_middle_of_run_is_handled_like_sigterm(make_world: Callable[..., World], cli) -> None:
    world = make_world(deploy_seconds=1.5)
    proc = _start_run(world)
    _, err = signal_when(proc, lambda: len(world.puts()) >= 1, "the first PUT of wave 1", signal.SIGHUP)

    assert proc.returncode == 1, err
    assert "SIGHUP received: starting nothing new, writing the report" in err
    assert world.puts("web") == []
    report = world.report()
    assert report["state"] == "INTERRUPTED"
    assert_every_service_tracked(world, report)
    assert not env_lock().exists()


@pytest.mark.slow
def test_a_closed_stdout_does_not_stop_the_report(make_world: Callable[..., World]) -> None:
    """`rollback.py run | head -0`: the reader is gone before the first line."""
    world = make_world()
    proc = subprocess.Popen([sys.executable, str(ROOT / "rollback.py"), *world.run_args()],
                            env=_subprocess_env(world), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err
    report = world.report()
    assert report["state"] == "SUCCEEDED"
    assert_every_service_tracked(world, report)
    assert world.files("junit-*.xml")
    assert not env_lock().exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_before_the_snapshot_is_one_clear_line_and_changes_nothing(
        make_world: Callable[..., World], sig: signal.Signals) -> None:
    world = make_world()
    world.sim.set_fault(delay=3.0, method="GET", path_prefix="/v2/apps")
    proc = _start_run(world)
    _, err = signal_when(proc, lambda: any(r["path"].startswith("/v2/apps") for r in world.sim.requests),
                         "the first app read", sig)

    assert proc.returncode == 1, err
    assert error_lines(err) == [f"error: {sig.name} received: stopped; nothing more is changed in Marathon "
                                "(files are replaced whole or not at all)"]
    assert "Traceback" not in err
    assert world.puts() == []
    assert world.files("snapshot-*.json") == []
    assert not env_lock().exists()


@pytest.mark.slow
def test_sigterm_during_get_is_one_clear_line_and_keeps_the_previous_rollback_json(
        indexed: Any, proxy_factory: Callable[..., Any], tmp_path: Path) -> None:
    proxy = proxy_factory(indexed.registry_url, latency=0.5)
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    proc = subprocess.Popen([sys.executable, str(ROOT / "rollback.py"), "get",
                             "--repo=" + ",".join(svc(n) for n in NAMES), "--env=prod", f"--dump={tmp_path}",
                             f"--registry={proxy.url}", "--no-cache"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = signal_when(proc, lambda: proxy.counts["total"] >= 2, "the first registry requests", signal.SIGTERM)

    assert proc.returncode == 1, err
    assert error_lines(err) == ["error: SIGTERM received: stopped; nothing more is changed in Marathon "
                                "(files are replaced whole or not at all)"]
    assert (tmp_path / "rollback.json").read_text() == indexed.index_text


@pytest.mark.parametrize("make_bad", ["a file", "under a file"])
def test_get_finds_out_that_dump_is_unusable_before_reading_the_registry(
        proxy_factory: Callable[..., Any], indexed: Any, tmp_path: Path, cli, make_bad: str) -> None:
    proxy = proxy_factory(indexed.registry_url)
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    dump = blocker if make_bad == "a file" else blocker / "dump"
    result = cli("get", "--repo=" + svc("api"), "--env=prod", f"--dump={dump}", f"--registry={proxy.url}",
                 "--no-cache")

    assert result.code == 2, result.err
    [line] = error_lines(result.err)
    assert f"--dump {dump} is not a" in line
    assert proxy.counts["total"] == 0, "nothing is read from the registry first"


# --- correct outcome: "already runs its target" needs a healthy app at rest ------------------------

def test_a_rerun_after_a_stuck_deployment_does_not_say_succeeded_nor_record_a_good_state(
        make_world: Callable[..., World], cli) -> None:
    """The first run leaves api stuck on its target (new tasks never healthy, deployment in flight):
    the second run must not count api as "already runs it", and the ledger records no good state."""
    world = make_world(unhealthy_images=["*/api:512-master"])
    first = cli(*world.run_args(timeout="1"), env=world.env)
    assert first.code == 1, first.err
    assert world.images()["api"].endswith(":512-master")

    plan = cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={world.dump}", "--json", env=world.env)
    assert plan.code == 0, plan.err
    api = next(s for s in json.loads(plan.out)["services"] if s["service"] == svc("api"))
    assert api["action"] == "change", api
    assert "runs 512-master but deployment" in api["reason"] and "still in flight" in api["reason"]

    second = cli(*world.run_args(timeout="1"), env=world.env)
    assert second.code == 3, second.err
    assert "a deployment is already in flight for /ds/prod/shop/api" in second.err
    lines = [json.loads(line) for line in (world.dump / "ledger.jsonl").read_text().splitlines()]
    assert [entry["state"] for entry in lines] == ["FAILED"]
    last_good = cli("run", "--to=last-good", "--env=prod", f"--dump={world.dump}", env=world.env)
    assert last_good.code == 2 and "has no successful state for prod" in last_good.err


@pytest.mark.parametrize("counts, problem", [
    ({"tasksUnhealthy": 1}, "1 of its tasks are unhealthy"),
    ({"tasksRunning": 0}, "0/1 tasks running"),
    ({"tasksHealthy": 0, "healthChecks": [{"protocol": "HTTP", "path": "/health"}]}, "0/1 tasks healthy"),
    ({"deployments": [{"id": "d-7"}]}, "deployment d-7 is still in flight"),
])
def test_a_service_on_its_target_but_unhealthy_is_planned_and_the_plan_says_why(
        rewriting: tuple[World, Rewriter], cli, counts: dict[str, Any], problem: str) -> None:
    world, rewriter = rewriting
    first = cli(*world.run_args(), env=world.env)
    assert first.code == 0, first.err
    rewriter.on("GET", app_path("worker"), lambda s, b: (s, {"app": {**b["app"], "instances": 1, **counts}}))

    plan = cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={world.dump}", "--json", env=world.env)

    assert plan.code == 0, plan.err
    steps = {s["service"]: s for s in json.loads(plan.out)["services"]}
    assert steps[svc("worker")]["action"] == "change"
    assert problem in steps[svc("worker")]["reason"]
    assert steps[svc("api")]["action"] == "unchanged"


def test_a_snapshot_that_cannot_be_written_stops_the_run_before_any_change(
        make_world: Callable[..., World], cli, monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world()

    def full(*_args: Any, **_kw: Any) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(usecase_module, "write_snapshot", full)
    result = cli(*world.run_args(), env=world.env)

    assert result.code == 2, result.err
    assert error_lines(result.err) == [f"error: cannot write the snapshot to --dump {world.dump}: No space left on "
                                       "device; nothing was changed"]
    assert world.puts() == []
    assert not env_lock().exists()


def test_a_full_disk_is_found_before_get_reads_the_registry(
        indexed: Any, proxy_factory: Callable[..., Any], tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import fleetrewind.atomic as atomic_module

    def no_space(*_args: Any, **_kw: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_module, "tempfile", types.SimpleNamespace(mkstemp=no_space))
    proxy = proxy_factory(indexed.registry_url)
    result = cli("get", "--repo=" + svc("api"), "--env=prod", f"--dump={tmp_path}", f"--registry={proxy.url}",
                 "--no-cache")

    assert result.code == 2, result.err
    assert error_lines(result.err) == [f"error: --dump {tmp_path} is not a writable folder: No space left on device"]
    assert proxy.counts["total"] == 0
