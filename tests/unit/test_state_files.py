"""The file store on its own (no sockets): the machine-wide lock folder and its checks, lock records
read back as untrusted input, the run-in-flight record, and the settings of the store (#20, #22 item 11).

Each bad input is one ``error:`` line naming the file or the setting, and exit 2.
"""

from __future__ import annotations

import json
import math
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.errors import UsageError
from fleetrewind.model.lockrecord import RunInFlight
from fleetrewind.state.file import FileStore, default_lock_dir
from fleetrewind.state.filelock import check_folder, lock_path


def _record(**changes: Any) -> bytes:
    record: dict[str, Any] = {"host": socket.gethostname(), "pid": 4242, "user": "ci", "run_id": "r1",
                              "command": "run", "since": time.time()}
    record.update(changes)
    return json.dumps(record).encode()


def _store(folder: Path, *, shared: bool = False) -> FileStore:
    return FileStore(lock_dir=folder / "locks", ledger=folder / "ledger.jsonl", dump=folder, shared=shared)


@pytest.mark.parametrize("record, why", [
    # the three of #22 item 11: json.loads takes them, every date conversion after it did not
    (b'{"host": "h", "pid": 12, "command": "run", "since": 1e300}', "'since' is not a time between 2000 and 9999"),
    (b'{"host": "h", "pid": 12, "command": "run", "since": NaN}', "(found: nan)"),
    (b'{"host": "h", "pid": 12, "command": "run", "since": Infinity}', "(found: inf)"),
    # new members of the class: values of the right JSON type that no run writes
    (_record(since=-1), "'since' is not a time between 2000 and 9999 (found: -1)"),
    (_record(since=True), "'since' is not a time"),
    (_record(since="2026-11-19T10:00:00Z"), "'since' is not a time"),
    (_record(pid=True), "'pid' is not a process id"),
    (_record(host=""), "'host' is not a short text"),
    (_record(user=["root"]), "'user' is not a short text"),
    (b'"a string"', "it is not a JSON object"),
])
def test_status_names_the_lock_file_whose_record_no_run_writes(tmp_path: Path, record: bytes, why: str) -> None:
    store = _store(tmp_path)
    (tmp_path / "locks").mkdir()
    path = lock_path(tmp_path / "locks", "prod")
    path.write_bytes(record)
    with pytest.raises(UsageError) as bad:
        store.holder("prod")
    message = str(bad.value)
    assert message.startswith(f"the lock file {path} holds no usable record: ") and why in message
    assert message.endswith("remove the file (no run holds it)")


def test_a_lock_record_the_tool_wrote_is_read_back_whole(tmp_path: Path) -> None:
    store = _store(tmp_path)
    record = store_record = None
    from fleetrewind.model.lockrecord import new_record
    record = new_record(command="undo", run_id="20261119T100000Z-7", user="alice")
    with store.lock("prod", record, force=False, warn=lambda _: None) as held:
        store_record, live = store.holder("prod")
        assert held.may_start() and held.lost() is None
    assert store_record == record and live in (True, None)
    assert math.isclose(store_record.since, record.since)
    assert store.holder("prod") == (None, None)  # released: the file is gone


def test_the_machine_wide_folder_is_made_sticky_and_shared(tmp_path: Path) -> None:
    base = tmp_path / "run-lock"
    base.mkdir()
    folder = default_lock_dir((base,))
    assert folder == base / "fleetrewind"
    store = FileStore(lock_dir=folder, ledger=tmp_path / "l", dump=tmp_path, shared=True)
    from fleetrewind.model.lockrecord import new_record
    with store.lock("prod", new_record(command="run", run_id="r", user="u"), force=False, warn=lambda _: None):
        mode = os.lstat(folder).st_mode
        assert stat.S_IMODE(mode) == 0o1777  # every user creates lock files; none removes another's
        assert stat.S_IMODE(os.stat(lock_path(folder, "prod")).st_mode) == 0o666  # any user's run may flock it


def test_default_lock_dir_falls_back_to_tmp(tmp_path: Path) -> None:
    assert default_lock_dir((tmp_path / "no-run-lock", tmp_path / "tmp")) == tmp_path / "tmp" / "fleetrewind-lock"


@pytest.mark.parametrize("make, problem", [
    (lambda p: p.symlink_to(p.parent / "elsewhere", target_is_directory=True), "is a symbolic link"),
    (lambda p: p.write_text(""), "is not a folder"),
    (lambda p: (p.mkdir(), os.chmod(p, 0o777)), "is writable by other users without the sticky bit"),
])
def test_an_unsafe_lock_folder_is_refused(tmp_path: Path, make: Any, problem: str) -> None:
    (tmp_path / "elsewhere").mkdir()
    folder = tmp_path / "locks"
    make(folder)
    with pytest.raises(UsageError, match=f"the lock folder {folder} {problem}.*set lock_dir"):
        check_folder(folder)


def test_a_lock_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a folder to another user")
    folder = tmp_path / "locks"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    with pytest.raises(UsageError, match=r"belongs to another user \(uid 65534\)"):
        check_folder(folder)


def test_the_run_in_flight_record_stays_until_its_own_run_ends_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    (tmp_path / "locks").mkdir()
    record = RunInFlight(run_id="20261119T100000Z-7", env="prod", host="agent-3", pid=7, user="alice", command="run",
                         since="2026-11-19T10:00:00Z", snapshot=str(tmp_path / "snapshot-20261119T100000Z.json"))
    store.begin_run(record)
    assert store.in_flight("prod") == record
    assert record.line() == (f"interrupted run 20261119T100000Z-7 from agent-3 at 2026-11-19T10:00:00Z; its snapshot: "
                             f"{record.snapshot}; to undo: rollback.py undo --snapshot={record.snapshot} --force")
    store.end_run("prod", "another-run")
    assert store.in_flight("prod") == record  # not that run's to clear
    store.end_run("prod", record.run_id)
    assert store.in_flight("prod") is None


def test_a_run_in_flight_record_no_run_writes_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "rollback-prod.run").write_text('{"run_id": 1}')
    with pytest.raises(UsageError, match=r"the run-in-flight record .*rollback-prod\.run is not one this tool writes"):
        _store(tmp_path).in_flight("prod")


@pytest.mark.parametrize("argv, env, config, name", [
    ((), {}, "lock_dir: ''\n", "config lock_dir"),                        # the example of #22 item 11
    (("--lock-dir=locks",), {}, "", "--lock-dir"),                        # relative
    ((), {"ROLLBACK_LOCK_DIR": "   "}, "", "ROLLBACK_LOCK_DIR"),           # new: blank
    ((), {"ROLLBACK_LOCK_DIR": "./locks"}, "", "ROLLBACK_LOCK_DIR"),       # new: relative with a dot
    ((), {}, "lock_dir: '~/locks'\n", "config lock_dir"),                 # new: no ~ expansion here
])
def test_an_empty_or_relative_lock_folder_is_refused(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     argv: tuple[str, ...], env: dict[str, str], config: str,
                                                     name: str) -> None:
    monkeypatch.delenv("ROLLBACK_LOCK_DIR")  # the test's own folder (conftest) would come first
    conf = tmp_path / "rollback.yaml"
    conf.write_text(config or "{}\n")
    result = cli("status", "--env=prod", f"--dump={tmp_path}", f"--config={conf}", *argv, env=env)
    assert result.code == 2
    [line] = [l for l in result.err.splitlines() if l.startswith("error:")]
    assert line.startswith(f"error: {name} must be an absolute folder (found: ")


@pytest.mark.parametrize("value, message", [
    ("zk://zk1:2181", "the URL needs a chroot path"),
    ("zk://user:pw@zk1:2181/fleetrewind", "put no credentials in the URL"),
    ("zk://zk1/fleetrewind", "is not host:port"),
    ("zookeeper://zk1:2181/x", "must be file or zk://"),
    ("zk://zk1:2181/../etc", "the URL needs a chroot path"),
])
def test_a_bad_state_url_is_one_error_naming_the_setting(cli: Any, tmp_path: Path, value: str, message: str) -> None:
    result = cli("status", "--env=prod", f"--dump={tmp_path}", env={"ROLLBACK_STATE": value})
    assert result.code == 2
    assert result.err.splitlines()[-1].startswith("error: --state (or ROLLBACK_STATE, or config state)")
    assert message in result.err and "pw@" not in result.err


@pytest.mark.parametrize("proxy, shown", [
    ("http://[::1", "'http://[::1'"),                          # unbalanced bracket (urlsplit raises)
    ("http://proxy.example:99999", "'http://proxy.example:99999'"),  # new: a port no TCP has
    ("ftp://proxy.example:3128", "'ftp://proxy.example:3128'"),  # new: a scheme no proxy speaks here
    ("http://user:hunter2@proxy.example:abc", "'http://proxy.example:abc'"),  # new: its password never shown
])
def test_a_bad_proxy_is_blamed_on_its_variable_not_on_the_url_it_was_for(cli: Any, tmp_path: Path, proxy: str,
                                                                         shown: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)  # requests reads the process environment
    result = cli("get", "--repo=shop/api", "--env=prod", f"--dump={tmp_path}", "--registry=http://registry.example:5000",
                 "--no-cache")
    assert result.code == 2, result.err
    line = result.err.splitlines()[-1]
    assert line.startswith("error: the proxy in HTTP_PROXY (or http_proxy) is not a") and shown in line
    assert "registry.example" not in line and "hunter2" not in result.err


def test_undo_last_takes_the_interrupted_run_else_the_newest_changing_run_never_an_undo(tmp_path: Path) -> None:
    from fleetrewind.model.journal import RunEntry
    from fleetrewind.state.store import last_to_undo
    store = _store(tmp_path)
    with pytest.raises(UsageError, match="records no run or deploy of prod that changed something"):
        last_to_undo(store, "prod")
    store.append(RunEntry(env="prod", at="2026-11-19T10:00:00Z", command="run", state="FAILED",
                          snapshot="/srv/dump/snapshot-20261119T095900Z.json"))
    store.append(RunEntry(env="prod", at="2026-11-19T10:30:00Z", command="undo", state="SUCCEEDED",
                          snapshot="/srv/dump/snapshot-20261119T102900Z.json"))
    store.append(RunEntry(env="prod", at="2026-11-19T11:00:00Z", command="run", state="NOTHING_TO_DO"))
    store.append(RunEntry(env="stage", at="2026-11-19T12:00:00Z", command="run", state="SUCCEEDED",
                          snapshot="/srv/dump/snapshot-20261119T115900Z.json"))
    assert last_to_undo(_store(tmp_path), "prod") == "/srv/dump/snapshot-20261119T095900Z.json"
    assert last_to_undo(_store(tmp_path), "stage") == "/srv/dump/snapshot-20261119T115900Z.json"
    (tmp_path / "locks").mkdir()  # made by the lock, which a run holds before it begins
    store.begin_run(RunInFlight(run_id="r9", env="prod", host="agent-2", pid=77, user="jenkins", command="run",
                                since="2026-11-19T13:00:00Z", snapshot="/srv/dump/snapshot-20261119T130000Z.json"))
    assert last_to_undo(_store(tmp_path), "prod") == "/srv/dump/snapshot-20261119T130000Z.json"
