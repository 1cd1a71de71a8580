"""The environment lock on its own: flock exclusion, stale and odd lock files, the owner check.

Every test uses a lock folder under tmp_path. Processes racing for a stale lock are in
tests/integration/test_lock.py; the end-to-end cases (two runs with different
--dump folders, undo --force against a live run) are in tests/integration/test_faults.py.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.errors import RefusedError, UsageError
from fleetrewind.state.filelock import EnvLock, lock_path
from tests.fleet_support import hold_lock, release


def _lock(folder: Path, *, force: bool = False, warnings: list[str] | None = None,
          command: str = "run") -> EnvLock:
    return EnvLock(folder, "prod", command=command, force=force,
                   warn=(warnings if warnings is not None else []).append)


def _stale(folder: Path, record: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = lock_path(folder, "prod")
    path.write_bytes(record)
    return path


def _dead_record(**extra: Any) -> bytes:
    record = {"host": socket.gethostname(), "pid": 999_999, "command": "run", "since": time.time() - 600}
    record.update(extra)
    return json.dumps(record).encode()


def test_a_live_holder_keeps_its_lock_even_against_force(tmp_path: Path) -> None:
    holder = hold_lock(lock_dir=tmp_path)
    try:
        for force in (False, True):
            with pytest.raises(RefusedError) as refused:
                with _lock(tmp_path, force=force, command="undo"):
                    pytest.fail("took a lock a live process holds")
            message = str(refused.value)
            assert f"another rollback of prod is running: run (pid {holder.pid} on {socket.gethostname()})" in message
            assert "--force cannot take it over" in message
        assert lock_path(tmp_path, "prod").exists()
    finally:
        release(holder)
    with _lock(tmp_path):  # once the holder is gone, the next run proceeds
        pass


def test_a_holder_that_died_without_cleaning_up_never_blocks_the_next_run(tmp_path: Path) -> None:
    holder = hold_lock(lock_dir=tmp_path)
    holder.kill()  # SIGKILL: no __exit__, the file and its record stay; the kernel drops the flock
    holder.wait()
    assert lock_path(tmp_path, "prod").exists()
    warnings: list[str] = []
    with _lock(tmp_path, warnings=warnings):
        record = json.loads(lock_path(tmp_path, "prod").read_text())
        assert record["pid"] == os.getpid()
    assert len(warnings) == 1 and f"taking over a stale lock of prod held by run (pid {holder.pid}" in warnings[0]


def test_the_first_runs_exit_does_not_delete_a_lock_it_no_longer_owns(tmp_path: Path) -> None:
    first = _lock(tmp_path)
    first.__enter__()
    lock_path(tmp_path, "prod").unlink()  # an operator removed it by hand; a second run then took a new one
    second = _lock(tmp_path, command="undo")
    second.__enter__()
    try:
        first.__exit__(None, None, None)
        assert lock_path(tmp_path, "prod").exists(), "the first run deleted the second run's lock"
        with pytest.raises(RefusedError, match="another rollback of prod is running: undo"):
            with _lock(tmp_path):
                pass
    finally:
        second.__exit__(None, None, None)
    assert not lock_path(tmp_path, "prod").exists()


@pytest.mark.parametrize("record, warned", [
    (b"", False),                                             # created on a full disk: nothing written
    (b"   \n", False),
    (_dead_record(pid=2**40), True),                          # a pid no kernel hands out
    (_dead_record(pid=-1), True),
    (_dead_record(pid="12"), True),
    (b"\xff\xfe not utf-8 \x80", True),
    (b'{"host": "h", "pid": 1', True),                        # truncated JSON
    (b"[1, 2, 3]", True),
    (json.dumps({"host": socket.gethostname(), "pid": 5, "since": 1e300}).encode(), True),
    (b"x" * 100_000, True),
])
def test_an_empty_or_unreadable_lock_record_never_blocks_the_next_run(tmp_path: Path, record: bytes,
                                                                      warned: bool) -> None:
    _stale(tmp_path, record)
    warnings: list[str] = []
    with _lock(tmp_path, warnings=warnings):
        assert json.loads(lock_path(tmp_path, "prod").read_text())["pid"] == os.getpid()
    assert len(warnings) == (1 if warned else 0), warnings
    assert all("taking over" in w for w in warnings)


def test_a_record_from_another_host_is_taken_over_only_with_force(tmp_path: Path) -> None:
    path = _stale(tmp_path, _dead_record(host="jenkins-agent-7"))
    with pytest.raises(RefusedError) as refused:
        with _lock(tmp_path):
            pass
    assert "jenkins-agent-7" in str(refused.value) and "--force" in str(refused.value) and str(path) in str(refused.value)
    assert path.exists()
    warnings: list[str] = []
    with _lock(tmp_path, force=True, warnings=warnings):
        pass
    assert "jenkins-agent-7" in warnings[0]


def test_a_lock_path_that_is_a_folder_is_one_clear_usage_error(tmp_path: Path) -> None:
    lock_path(tmp_path, "prod").mkdir(parents=True)
    with pytest.raises(UsageError, match=r"the lock file .*rollback-prod\.lock is a folder; remove it or set lock_dir"):
        with _lock(tmp_path):
            pass


def test_a_lock_path_that_is_a_symlink_is_refused_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("precious")
    tmp_path.joinpath("locks").mkdir()
    lock_path(tmp_path / "locks", "prod").symlink_to(target)
    with pytest.raises(UsageError, match="is a symbolic link"):
        with _lock(tmp_path / "locks"):
            pass
    assert target.read_text() == "precious"


def test_a_lock_folder_that_cannot_be_created_is_one_clear_usage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="cannot create the lock folder .*; set lock_dir"):
        with _lock(tmp_path / "file" / "locks"):
            pass


def test_a_record_that_cannot_be_written_still_holds_the_lock(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_: object) -> int:
        raise OSError(28, "No space left on device")

    warnings: list[str] = []
    monkeypatch.setattr(os, "pwrite", full)
    with _lock(tmp_path, warnings=warnings):
        monkeypatch.undo()
        with pytest.raises(RefusedError):
            with _lock(tmp_path):
                pass
    assert "could not write the lock record" in warnings[0] and "No space left on device" in warnings[0]
    with _lock(tmp_path):  # and the empty file it left blocks nobody
        pass
