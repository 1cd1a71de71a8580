"""One rollback per environment at a time: a lock file that survives a crash.

The file holds the owner's host and pid. A lock whose owner is on this host and no longer
alive is stale and taken over (with a warning); any other lock refuses the run (exit 3)
unless ``--force``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Callable

from ..errors import RefusedError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


class EnvLock:
    def __init__(self, folder: Path, env: str, *, command: str, force: bool, warn: Callable[[str], None]) -> None:
        self.path = folder / f".rollback-{env}.lock"
        self.env = env
        self.command = command
        self.force = force
        self.warn = warn
        self._held = False

    def __enter__(self) -> "EnvLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"host": socket.gethostname(), "pid": os.getpid(), "command": self.command, "since": time.time()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._handle_existing()
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(me, handle)
            self._held = True
            return self
        raise RefusedError(f"could not take the lock {self.path}; another run is starting at the same time")

    def _handle_existing(self) -> None:
        try:
            owner = json.loads(self.path.read_text(encoding="utf-8"))
            host, pid = str(owner["host"]), int(owner["pid"])
            what = f"{owner.get('command', 'a run')} (pid {pid} on {host})"
        except (OSError, ValueError, KeyError, TypeError):
            host, pid, what = "", 0, "an unreadable lock"
            if _age(self.path) < 5:  # another run may be writing it right now
                raise RefusedError(f"another rollback of {self.env} is starting ({self.path}); try again shortly")
        stale = host == socket.gethostname() and not _alive(pid)
        if stale or self.force or not host:
            self.warn(f"taking over {'a stale' if stale else 'the'} lock of {self.env} held by {what}")
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            return
        raise RefusedError(f"another rollback of {self.env} is running: {what}; wait for it "
                           f"(or remove {self.path} if that run is gone, or use --force)")

    def __exit__(self, *exc: object) -> None:
        if self._held:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self._held = False
