"""The holder record of an environment's lock and the run-in-flight record, each parsed in one place.

A record is JSON: ``{"host", "pid", "user", "run_id", "command", "since"}`` (``since`` in seconds
since the epoch). It only ever informs a message: exclusion comes from the store's lock itself
(a kernel ``flock``, or ZooKeeper's ephemeral nodes). A record is read back as untrusted input:
anything another user or a torn write can leave there is refused by :func:`parse_lock_record`
with a reason, never turned into an internal error later (a ``since`` of ``1e300`` or ``NaN``).
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from dataclasses import dataclass

from ..errors import UsageError
from ..inputs import loads
from ..instants import read_instant
from .report import undo_command

MAX_RECORD = 4096  # a record is ~150 bytes; more than this is not one of ours
# Times a record may carry: from 2000-01-01 to 9999-12-31 (Python's datetime ends there).
EARLIEST, LATEST = 946_684_800.0, 253_402_300_799.0


class BadRecord(ValueError):
    """The record is not one this tool writes; ``str()`` says which field and why."""


@dataclass(frozen=True, kw_only=True)
class LockRecord:
    host: str
    pid: int
    user: str
    run_id: str
    command: str
    since: float  # seconds since the epoch, finite and within EARLIEST..LATEST

    def describe(self) -> str:
        """``run (pid 12 on host, user root, run 20261206T2100Z-12)``: the words of "held by ..." messages."""
        who = f"pid {self.pid} on {self.host[:100]}"
        if self.user:
            who += f", user {self.user[:40]}"
        if self.run_id:
            who += f", run {self.run_id[:60]}"
        return f"{self.command[:40]} ({who})"

    def to_bytes(self) -> bytes:
        return json.dumps({"host": self.host, "pid": self.pid, "user": self.user, "run_id": self.run_id,
                           "command": self.command, "since": self.since}, sort_keys=True).encode()


def new_record(*, command: str, run_id: str, user: str) -> LockRecord:
    """The record of this process, now."""
    return LockRecord(host=socket.gethostname(), pid=os.getpid(), user=user, run_id=run_id, command=command,
                      since=time.time())


def _text(owner: dict[str, object], key: str, *, required: bool = False, default: str = "") -> str:
    value = owner.get(key, None if required else default)
    if not isinstance(value, str) or (required and not value) or len(value) > 255:
        raise BadRecord(f"'{key}' is not a short text")
    return value


def parse_lock_record(raw: bytes) -> LockRecord | None:
    """The record in ``raw``; None when it is empty (a released lock, or a write a full disk stopped).

    Raises :class:`BadRecord` naming the field for anything else this tool would not have written.
    """
    if not raw.strip():
        return None
    if len(raw) > MAX_RECORD:
        raise BadRecord(f"it is larger than {MAX_RECORD} bytes")
    try:
        owner = loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRecord("it is not UTF-8 text") from None
    except ValueError:
        raise BadRecord("it is not JSON") from None
    if not isinstance(owner, dict):
        raise BadRecord("it is not a JSON object")
    pid, since = owner.get("pid"), owner.get("since")
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2**31:
        raise BadRecord("'pid' is not a process id")
    # bool is an int; NaN and infinities pass float(); 1e300 overflows every date conversion later
    if not isinstance(since, (int, float)) or isinstance(since, bool) or not math.isfinite(since) \
            or not EARLIEST <= since <= LATEST:
        raise BadRecord(f"'since' is not a time between 2000 and 9999 (found: {str(since)[:40]})")
    return LockRecord(host=_text(owner, "host", required=True), pid=pid, user=_text(owner, "user"),
                      run_id=_text(owner, "run_id"), command=_text(owner, "command", default="a run") or "a run",
                      since=float(since))


@dataclass(frozen=True, kw_only=True)
class RunInFlight:
    """A run that has begun changing an environment and has not yet written its report."""

    run_id: str
    env: str
    host: str
    pid: int
    user: str
    command: str
    since: str  # ISO time, UTC
    snapshot: str  # the reference ``undo --snapshot=`` takes

    def to_bytes(self) -> bytes:
        return json.dumps(vars(self), sort_keys=True).encode()

    def line(self) -> str:
        # --force: a killed run cannot have proved that its deployments finished, and undo refuses one in flight
        return (f"interrupted run {self.run_id} from {self.host} at {self.since}; its snapshot: {self.snapshot}; "
                f"to undo: {undo_command(self.snapshot, force=True)}")


def parse_in_flight(raw: bytes, where: str) -> RunInFlight | None:
    """The record in ``raw`` (None when empty); an unusable one is one error naming ``where``."""
    if not raw.strip():
        return None
    try:
        doc = loads(raw.decode("utf-8"))
        fields = {k: doc[k] for k in ("run_id", "env", "host", "user", "command", "since", "snapshot")}
        if not all(isinstance(v, str) and len(v) < 4096 for v in fields.values()) or \
                not isinstance(doc.get("pid"), int) or isinstance(doc.get("pid"), bool):
            raise ValueError
        if read_instant(fields["since"]) is None:
            raise ValueError
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise UsageError(f"the run-in-flight record {where} is not one this tool writes; "
                         "remove it if no run of that environment is in flight") from None
    return RunInFlight(pid=doc["pid"], **fields)
