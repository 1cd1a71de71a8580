"""Files are created, never overwritten (issue #22, item 4).

Two runs writing into one shared ``--dump`` in the same second overwrote each other's snapshot
and report: the stamp was chosen before the lock, and the files were written by rename. Every
snapshot, report and JUnit file is now created exclusively: its name keeps the stamp, and gets
``-2``, ``-3``... only when that name is taken (by a file, a link, a FIFO or a folder).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Callable

import pytest

from fleetrewind.atomic import create_text
from fleetrewind.report.run import write_junit, write_report
from fleetrewind.marathon.appmap import check_app_id
from fleetrewind.rollout.snapshot import read_snapshot, write_snapshot
from fleetrewind.state.file import FileStore
from tests.unit.test_reports import _report

STAMP = "20261121T200000Z"


def store(folder: Path) -> FileStore:
    return FileStore(lock_dir=folder / "locks", ledger=folder / "ledger.jsonl", dump=folder)


def snapshot(folder: Path, image: str) -> Path:
    return Path(write_snapshot(store(folder), STAMP, env="prod", command="run", marathon="http://m", app_ids={"api": "/p/api"},
                               images={"api": image}))


def test_the_second_snapshot_of_a_second_does_not_overwrite_the_first(tmp_path: Path) -> None:
    first = snapshot(tmp_path, "r/api:1")
    second = snapshot(tmp_path, "r/api:2")
    assert first != second
    assert first.name == f"snapshot-{STAMP}.json" and second.name == f"snapshot-{STAMP}-2.json"
    assert read_snapshot(store(tmp_path), str(first), check_app_id=check_app_id).images == {"api": "r/api:1"}
    assert read_snapshot(store(tmp_path), str(second), check_app_id=check_app_id).images == {"api": "r/api:2"}


@pytest.mark.parametrize("write, name", [(write_report, "report"), (write_junit, "junit")])
def test_a_second_report_or_junit_of_a_second_is_a_file_of_its_own(tmp_path: Path, write: Callable[..., Path],
                                                                    name: str) -> None:
    first = write(tmp_path, _report([]), STAMP)
    before = first.read_bytes()
    second = write(tmp_path, _report([]), STAMP)
    assert first.name.startswith(f"{name}-{STAMP}.") and second.name.startswith(f"{name}-{STAMP}-2.")
    assert first.read_bytes() == before


@pytest.mark.parametrize("plant", ["file", "symlink", "dangling symlink", "fifo", "folder"])
def test_whatever_holds_the_name_is_left_alone(tmp_path: Path, plant: str) -> None:
    taken = tmp_path / f"report-{STAMP}.json"
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    if plant == "file":
        taken.write_text("an earlier report")
    elif plant == "symlink":
        taken.symlink_to(target)
    elif plant == "dangling symlink":
        taken.symlink_to(tmp_path / "nowhere")
    elif plant == "fifo":
        os.mkfifo(taken)
    else:
        taken.mkdir()
    path = create_text(tmp_path, f"report-{STAMP}", ".json", "{}\n")
    assert path.name == f"report-{STAMP}-2.json"
    assert target.read_text() == "keep me" and not (tmp_path / "nowhere").exists()
    if plant == "file":
        assert taken.read_text() == "an earlier report"


def test_eight_writers_at_once_get_eight_names(tmp_path: Path) -> None:
    names: list[Path] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def one(n: int) -> None:
        start.wait()
        path = create_text(tmp_path, f"snapshot-{STAMP}", ".json", json.dumps({"n": n}))
        with lock:
            names.append(path)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 8
    assert sorted(json.loads(p.read_text())["n"] for p in names) == list(range(8))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_a_new_file_is_whole_and_private_when_asked(tmp_path: Path) -> None:
    path = create_text(tmp_path, "snapshot-x", ".json", "{}\n", mode=0o600)
    assert path.read_text() == "{}\n"
    assert path.stat().st_mode & 0o777 == 0o600
