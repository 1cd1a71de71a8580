"""The file store, the embedded default: the lock and the run-in-flight record in a machine-wide
lock folder, the journal in the ledger file, the snapshots in ``--dump``.

It serves one machine: every user of it meets the same lock (``/run/lock/fleetrewind`` by
default, see ``default_lock_dir``); another machine sees none of it.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..atomic import create_text
from ..errors import UsageError
from ..inputs import loads, read_text
from ..model.journal import JournalEntry, entry_doc, parse_entry
from ..model.lockrecord import LockRecord
from .filelock import EnvLock, _read, holder, open_shared
from ..model.lockrecord import RunInFlight, parse_in_flight
from .store import Held

# Where the machine-wide lock folder goes: the first of these that exists (FHS /run/lock; /tmp last).
LOCK_BASES = (Path("/run/lock"), Path("/var/lock"), Path("/tmp"))
SHARED_FOLDER = 0o1777  # every user creates its lock files there; the sticky bit keeps them from removing others'


def default_lock_dir(bases: Sequence[Path] = LOCK_BASES) -> Path:
    """The machine-wide lock folder: ``fleetrewind`` in /run/lock (or /var/lock, or /tmp)."""
    for base in bases:
        if base.is_dir():
            return base / ("fleetrewind" if base.name != "tmp" else "fleetrewind-lock")
    return bases[-1] / "fleetrewind-lock"


class FileStore:
    def __init__(self, *, lock_dir: Path, ledger: Path, dump: Path, shared: bool = False) -> None:
        self.lock_dir = lock_dir
        self.ledger = ledger
        self.dump = dump
        self.folder_mode = SHARED_FOLDER if shared else 0o700

    def describe(self) -> str:
        return f"file ({self.lock_dir})"

    @contextmanager
    def lock(self, env: str, record: LockRecord, *, force: bool, warn: Callable[[str], None]) -> Iterator[Held]:
        with EnvLock(self.lock_dir, env, command=record.command, force=force, warn=warn, record=record,
                     folder_mode=self.folder_mode) as held:
            yield held

    def holder(self, env: str) -> tuple[LockRecord | None, bool | None]:
        return holder(self.lock_dir, env)

    # The run in flight: rollback-<env>.run beside the lock file, emptied (not removed) when done,
    # since in the sticky shared folder only its creator may remove it.
    def _run_path(self, env: str) -> Path:
        return self.lock_dir / f"rollback-{env}.run"

    def begin_run(self, record: RunInFlight) -> None:
        self._write_run(record.env, record.to_bytes())

    def end_run(self, env: str, run_id: str) -> None:
        current = self.in_flight(env)
        if current is None or current.run_id == run_id:
            self._write_run(env, b"")

    def acknowledge(self, env: str) -> None:
        self._write_run(env, b"")

    def _write_run(self, env: str, data: bytes) -> None:
        fd = open_shared(self._run_path(env))
        try:
            os.ftruncate(fd, 0)
            if data:
                os.pwrite(fd, data, 0)
                os.fsync(fd)
        finally:
            os.close(fd)

    def in_flight(self, env: str) -> RunInFlight | None:
        path = self._run_path(env)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"cannot read the run-in-flight record {path}: {exc.strerror or exc}") from None
        try:
            raw = _read(fd)
        finally:
            os.close(fd)
        return parse_in_flight(raw, str(path))

    def append(self, entry: JournalEntry) -> None:
        path = self.ledger
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry_doc(entry), sort_keys=True) + "\n"  # typed values only: no free text, no secret
        # O_APPEND writes of one short line are atomic enough for concurrent appenders. Never through a
        # symbolic link (planted in a shared --dump, it would make this user append to any file it can
        # write), and never blocking on a FIFO put in the ledger's place.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "it is not a regular file (a FIFO, socket or device)", str(path))
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def entries(self, env: str) -> Sequence[JournalEntry]:
        path = self.ledger
        try:
            lines = read_text(path).splitlines()
        except FileNotFoundError:
            return []
        except IsADirectoryError:
            raise UsageError(f"cannot read the ledger {path}: it is a folder") from None
        except OSError as exc:
            raise UsageError(f"cannot read the ledger {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"the ledger {path} is not UTF-8 text (byte {exc.start}); "
                             "fix or move it, or use --date instead") from None
        found = []
        for number, line in enumerate(lines, start=1):
            if f'"{env}"' not in line:
                continue  # cheap: another environment's line (a line of env names it in quotes)
            try:
                doc = loads(line)
            except ValueError:
                continue  # a torn last line after a crash is skipped, not fatal
            entry = parse_entry(doc, f"the ledger {path}, line {number}")
            if entry is not None and entry.env == env:
                found.append(entry)
        return found

    def put_snapshot(self, env: str, stem: str, data: bytes) -> str:
        # a name taken (two runs in one second) gets -2, -3...: never overwritten
        return str(create_text(self.dump, stem, ".json", data.decode("utf-8")))

    def get_snapshot(self, ref: str) -> tuple[bytes, str]:
        path = Path(ref)
        try:
            return read_text(path).encode("utf-8"), str(path)
        except FileNotFoundError:
            raise UsageError(f"snapshot {path} does not exist; snapshots are the snapshot-<stamp>.json files "
                             "in --dump") from None
        except IsADirectoryError:
            raise UsageError(f"{path} is not a usable snapshot: it is a folder") from None
        except OSError as exc:
            raise UsageError(f"cannot read snapshot {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{path} is not a usable snapshot: it is not UTF-8 text") from None

    def close(self) -> None:
        pass
