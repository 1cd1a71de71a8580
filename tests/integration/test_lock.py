"""The environment lock across processes: several processes racing for a stale lock (the lock alone
is in tests/unit/test_lock.py)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.errors import RefusedError
from fleetrewind.state.filelock import EnvLock, lock_path
from tests.unit.test_lock import _dead_record, _stale


def _race(folder: str, start: Any, done: Any, results: Any) -> None:
    """One contender: wait for the start, try the lock, report, and hold it until the test is done."""
    start.wait()
    try:
        with EnvLock(Path(folder), "prod", command="run", force=False, warn=lambda _: None):
            results.put(("proceeded", os.getpid()))
            done.wait(30)
    except RefusedError:
        results.put(("refused", os.getpid()))


@pytest.mark.slow
def test_processes_racing_for_a_stale_lock_exactly_one_proceeds(tmp_path: Path) -> None:
    _stale(tmp_path, _dead_record())
    ctx = multiprocessing.get_context("spawn")
    start, done, results = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(tmp_path), start, done, results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    try:
        start.set()
        outcomes = [results.get(timeout=60)[0] for _ in procs]  # the winner holds until all have answered
    finally:
        done.set()
        for proc in procs:
            proc.join(30)
    assert sorted(outcomes) == ["proceeded", "refused", "refused", "refused"]
    assert not lock_path(tmp_path, "prod").exists(), "the winner removes its lock when it ends"
