"""One rollback per environment at a time: an ``flock`` on a lock file in a per-user state folder.

Exclusion comes from ``fcntl.flock`` alone: the kernel drops it when the holder exits or dies,
so a live holder can never lose it and a dead one never blocks the next run. The JSON record
inside (host, pid, command, since) is only read for the "held by ..." message. How the lock
behaves, and why, is written down in ``docs/reliability.md`` ("The environment lock").
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import RefusedError, UsageError
from ..inputs import loads

MAX_RECORD = 4096  # a record is ~100 bytes; more than this is not one of ours


def lock_path(folder: Path, env: str) -> Path:
    """Where the lock of ``env`` lives in the lock folder (``lock_dir``)."""
    return folder / f"rollback-{env}.lock"


def _describe(record: bytes) -> tuple[str, str]:
    """(host, "run (pid 12 on host) since <time>") from a record; ("", "") when unreadable."""
    try:
        owner = loads(record.decode("utf-8"))
        host, pid, command = owner["host"], owner["pid"], owner.get("command", "a run")
        since = float(owner.get("since", 0))
        if not (isinstance(host, str) and host and isinstance(pid, int) and 0 < pid < 2**31
                and isinstance(command, str)):
            return "", ""
        when = dt.datetime.fromtimestamp(since, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, OverflowError, OSError):
        return "", ""
    return host, f"{command[:40]} (pid {pid} on {host[:100]}) since {when}"


class EnvLock:
    """``with EnvLock(lock_dir, env, ...)``: hold the environment's lock for the block, or raise.

    Refused (exit 3) while another process holds the flock, with or without ``force``. A file
    whose flock is free was left by a run that is gone: it is taken over (with a warning when
    its record names a run; silently when the record is empty or unreadable, e.g. written on a
    full disk). A record written on another host is only taken over with ``force``: on a shared
    folder this host cannot see that host's processes.
    """

    def __init__(self, folder: Path, env: str, *, command: str, force: bool, warn: Callable[[str], None]) -> None:
        self.path = lock_path(folder, env)
        self.env = env
        self.command = command
        self.force = force
        self.warn = warn
        self._fd: int | None = None

    def __enter__(self) -> "EnvLock":
        self._make_folder()
        for _ in range(5):  # only loops when another run unlinked the file between our open and flock
            fd = self._open()
            try:
                if self._try_flock(fd) and self._still_ours(fd):
                    self._take(fd)
                    self._fd = fd
                    return self
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        raise RefusedError(f"could not take the lock {self.path}; another run is starting at the same time")

    def _make_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise UsageError(f"cannot create the lock folder {self.path.parent}: {exc.strerror or exc}; "
                             "set lock_dir (--lock-dir or ROLLBACK_LOCK_DIR) to a writable folder") from None

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except IsADirectoryError:
            raise UsageError(f"the lock file {self.path} is a folder; remove it or set lock_dir "
                             "(--lock-dir or ROLLBACK_LOCK_DIR) elsewhere") from None
        except OSError as exc:
            what = "is a symbolic link" if exc.errno == errno.ELOOP else f"cannot be opened: {exc.strerror or exc}"
            raise UsageError(f"the lock file {self.path} {what}; remove it or set lock_dir "
                             "(--lock-dir or ROLLBACK_LOCK_DIR) elsewhere") from None

    def _try_flock(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _, who = _describe(_read(fd))
            # A live holder keeps its lock: not even --force takes it (it may be mid-deployment).
            raise RefusedError(f"another rollback of {self.env} is running: {who or 'a run starting now'}; "
                               f"wait for it to finish ({self.path} is held, --force cannot take it over)") from None
        except OSError as exc:
            raise UsageError(f"cannot lock {self.path}: {exc.strerror or exc}; set lock_dir "
                             "(--lock-dir or ROLLBACK_LOCK_DIR) to a local folder") from None
        return True

    def _still_ours(self, fd: int) -> bool:
        """The path still names the inode we locked (a finishing run unlinks its file)."""
        try:
            return os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def _take(self, fd: int) -> None:
        record = _read(fd)
        host, who = _describe(record)
        if host and host != socket.gethostname() and not self.force:
            raise RefusedError(f"another rollback of {self.env} may be running: {who}; this host cannot check "
                               f"that host's processes: wait for it, or pass --force if it is gone ({self.path})")
        if who:
            self.warn(f"taking over a stale lock of {self.env} held by {who} (that run is gone)")
        elif record.strip():
            self.warn(f"taking over the lock of {self.env}: no run holds it and its record is unreadable ({self.path})")
        record = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "command": self.command,
                             "since": time.time()}).encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, record, 0)
        except OSError as exc:  # e.g. a full disk: the flock still excludes; only the message is poorer
            self.warn(f"could not write the lock record {self.path} ({exc.strerror or exc}); the lock is held anyway")

    def __exit__(self, *exc: object) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._still_ours(fd):  # never unlink a lock file another run has taken since
                self.path.unlink()
        except OSError:
            pass
        finally:
            os.close(fd)  # releases the flock


def _read(fd: int) -> bytes:
    try:
        return os.pread(fd, MAX_RECORD + 1, 0)
    except OSError:
        return b""


@dataclass(frozen=True, kw_only=True)
class LockHolder:
    """Who holds an environment's lock (read-only; for ``status``)."""

    host: str  # "" when the record is unreadable
    pid: int | None
    command: str
    since: float | None  # seconds since the epoch
    held: bool | None  # a process holds the flock now; None when this system cannot tell

    def describe(self) -> str:
        return f"{self.command} (pid {self.pid} on {self.host})" if self.host else "a run whose record is unreadable"


def holder(folder: Path, env: str) -> LockHolder | None:
    """The lock of ``env`` as its file says, or None when there is no lock file.

    Reads only: it neither creates the file nor takes the flock, not even for a moment (a shared
    flock, however short, would make a starting run's non-blocking exclusive flock fail). Whether
    a process holds the flock comes from the kernel's table of locks, ``/proc/locks`` on Linux.
    """
    path = lock_path(folder, env)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError:
        return LockHolder(host="", pid=None, command="", since=None, held=None)
    try:
        record, info = _read(fd), os.fstat(fd)
    finally:
        os.close(fd)
    held = _flocked(info.st_dev, info.st_ino)
    try:
        owner = loads(record.decode("utf-8"))
        host, pid, command = str(owner["host"]), int(owner["pid"]), str(owner.get("command", "a run"))
        since = float(owner["since"]) if owner.get("since") is not None else None
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, OverflowError):
        return LockHolder(host="", pid=None, command="", since=None, held=held)
    return LockHolder(host=host, pid=pid, command=command, since=since, held=held)


def _flocked(device: int, inode: int, table: Path = Path("/proc/locks")) -> bool | None:
    """Does any process hold a flock on this file? None when the table cannot be read."""
    try:
        lines = table.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return None
    wanted = f"{os.major(device):02x}:{os.minor(device):02x}:{inode}"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1009 fe:00:2180923 0 EOF" (a "->" marks a waiter)
        if "FLOCK" in fields and "->" not in fields and wanted in fields:
            return True
    return False
