"""The file store's lock: an ``flock`` on a lock file in a machine-wide lock folder.

Exclusion comes from ``fcntl.flock`` alone: the kernel drops it when the holder exits or dies,
so a live holder can never lose it and a dead one never blocks the next run. The JSON record
inside (``model/lockrecord.py``) is only read for the "held by ..." message. The default folder
is shared by every user of the machine (``/run/lock/fleetrewind``): one rollback per environment
per machine, whoever runs it. How the lock behaves, and why, is written down in
``docs/reliability.md`` ("The environment lock").
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import RefusedError, UsageError
from ..model.lockrecord import MAX_RECORD, BadRecord, LockRecord, new_record, parse_lock_record

SETTING = "lock_dir (--lock-dir or ROLLBACK_LOCK_DIR)"
# Lock and in-flight files: any user of the machine opens them to flock and to write its record.
SHARED_MODE = 0o666


def lock_path(folder: Path, env: str) -> Path:
    """Where the lock of ``env`` lives in the lock folder (``lock_dir``)."""
    return folder / f"rollback-{env}.lock"


def _describe(raw: bytes) -> tuple[str, str]:
    """(host, "run (pid 12 on host, ...) since <time>") from a record; ("", "") when empty or unreadable."""
    try:
        record = parse_lock_record(raw)
    except BadRecord:
        return "", ""
    if record is None:
        return "", ""
    return record.host, f"{record.describe()} since {_when(record.since)}"


def _when(since: float) -> str:
    return dt.datetime.fromtimestamp(since, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_folder(folder: Path, *, create_mode: int = 0o700) -> None:
    """The lock folder, created if missing, and safe to share: a folder (no symbolic link followed),
    owned by root or by this user, and writable by others only with the sticky bit (as /tmp is)."""
    if not folder.is_absolute():
        raise UsageError(f"{SETTING} must be an absolute folder (found: {str(folder)[:200]!r}); "
                         "a relative one would give each working folder its own lock")
    try:
        try:
            os.mkdir(folder, create_mode)
        except FileNotFoundError:
            folder.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            os.mkdir(folder, create_mode)
        os.chmod(folder, create_mode, follow_symlinks=False)  # the umask would narrow a shared folder
    except FileExistsError:
        pass
    except OSError as exc:
        raise UsageError(f"cannot create the lock folder {folder}: {exc.strerror or exc}; "
                         f"set {SETTING} to a writable folder") from None
    try:
        info = os.lstat(folder)
    except OSError as exc:
        raise UsageError(f"cannot use the lock folder {folder}: {exc.strerror or exc}; "
                         f"set {SETTING} to a writable folder") from None
    problem = ""
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symbolic link"
    elif not stat.S_ISDIR(info.st_mode):
        problem = "is not a folder"
    elif info.st_uid not in (0, os.geteuid()):
        problem = f"belongs to another user (uid {info.st_uid})"
    elif info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        problem = "is writable by other users without the sticky bit (they could remove a held lock file)"
    if problem:
        raise UsageError(f"the lock folder {folder} {problem}; fix it or set {SETTING} elsewhere")


class EnvLock:
    """``with EnvLock(lock_dir, env, ...)``: hold the environment's lock for the block, or raise.

    Refused (exit 3) while another process holds the flock, with or without ``force``. A file
    whose flock is free was left by a run that is gone: it is taken over (with a warning when
    its record names a run; silently when the record is empty or unreadable, e.g. written on a
    full disk). A record written on another host is only taken over with ``force``: on a shared
    folder this host cannot see that host's processes.
    """

    def __init__(self, folder: Path, env: str, *, command: str, force: bool, warn: Callable[[str], None],
                 record: LockRecord | None = None, folder_mode: int = 0o700) -> None:
        self.path = lock_path(folder, env)
        self.env = env
        self.record = record or new_record(command=command, run_id="", user="")
        self.folder_mode = folder_mode
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
        check_folder(self.path.parent, create_mode=self.folder_mode)

    def _open(self) -> int:
        try:
            return open_shared(self.path)
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
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, self.record.to_bytes(), 0)
        except OSError as exc:  # e.g. a full disk: the flock still excludes; only the message is poorer
            self.warn(f"could not write the lock record {self.path} ({exc.strerror or exc}); the lock is held anyway")

    def may_start(self) -> bool:
        return True  # the kernel keeps the flock for as long as this process lives

    def still_proved(self) -> bool:
        return True

    def lost(self) -> str | None:
        return None

    def __exit__(self, *exc: object) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._still_ours(fd):  # never unlink a lock file another run has taken since
                os.ftruncate(fd, 0)  # an empty record: in a sticky folder another user's file stays
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


def holder(folder: Path, env: str) -> tuple[LockRecord | None, bool | None]:
    """(the record of ``env``'s lock file, whether a process holds its flock); (None, None) without a file.

    Reads only: it neither creates the file nor takes the flock, not even for a moment (a shared
    flock, however short, would make a starting run's non-blocking exclusive flock fail). Whether
    a process holds the flock comes from the kernel's table of locks, ``/proc/locks`` on Linux.
    A record this tool would not write is one error naming the file (exit 2).
    """
    path = lock_path(folder, env)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise UsageError(f"cannot read the lock file {path}: {exc.strerror or exc}; fix it or set {SETTING} "
                         "elsewhere") from None
    try:
        raw, info = _read(fd), os.fstat(fd)
    finally:
        os.close(fd)
    held = _flocked(info.st_dev, info.st_ino)
    try:
        return parse_lock_record(raw), held
    except BadRecord as bad:
        raise UsageError(f"the lock file {path} holds no usable record: {bad}; "
                         + ("a run holds it: wait for it to end" if held else "remove the file (no run holds it)")) from None


def open_shared(path: Path) -> int:
    """Open (or create) a lock or in-flight file any user of the machine may open; never through a link."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o600)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file")
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != SHARED_MODE:
            os.fchmod(fd, SHARED_MODE)  # the umask would keep other users out
    except BaseException:
        os.close(fd)
        raise
    return fd


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
