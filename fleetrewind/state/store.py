"""The state-store protocol, the run-in-flight record, and the questions asked of the journal.

A store holds, per environment: the lock (with its holder record), the record of the run in
flight (written before the first change, removed after the report: one left behind names an
interrupted run), the journal (``model/journal.py``) and the undo snapshots. What each store
guarantees is in ``docs/reliability.md`` ("The environment lock").
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Callable, Protocol, Sequence

from ..errors import UsageError
from ..platform.timeline import Failed, parse_instant
from ..model.journal import JournalEntry, RunEntry
from ..model.lockrecord import RunInFlight, LockRecord
from ..model.states import GOOD_STATES, Status

REVERTED = Status.ROLLED_BACK  # a service's status when it failed and was put back on its snapshot image


class Held(Protocol):
    """What a held lock offers the run: may it start one more deployment?"""

    def may_start(self) -> bool:
        """True while the lock is provably held; waits while that is unknown (ZooKeeper suspended)."""

    def still_proved(self) -> bool:
        """Asked as a change is written, without a network round: is the last proof of ``may_start`` recent
        enough that the lock cannot have been lost since (a process stopped in between, for one)?"""

    def lost(self) -> str | None:
        """Why the lock can no longer be proved held; None while it is."""


class StateStore(Protocol):
    """One environment's shared state. Implementations: FileStore (file.py), ZkStore (zk.py)."""

    def describe(self) -> str:
        """The store as ``status`` names it: ``file (/run/lock/fleetrewind)`` or ``zookeeper (zk://...)``."""

    def lock(self, env: str, record: LockRecord, *, force: bool,
             warn: Callable[[str], None]) -> AbstractContextManager[Held]:
        """Hold ``env``'s lock for the block; RefusedError (exit 3) naming the holder when another has it."""

    def holder(self, env: str) -> tuple[LockRecord | None, bool | None]:
        """(the holder record, whether a live holder has the lock: None when unknown). Reads only."""

    def begin_run(self, record: RunInFlight) -> None: ...

    def end_run(self, env: str, run_id: str) -> None: ...

    def in_flight(self, env: str) -> RunInFlight | None: ...

    def append(self, entry: JournalEntry) -> None: ...

    def entries(self, env: str) -> Sequence[JournalEntry]:
        """The journal of ``env``, oldest first."""

    def put_snapshot(self, env: str, stem: str, data: bytes) -> str:
        """Store a snapshot (JSON bytes) as ``<stem>.json`` (or ``<stem>-2.json``... when taken); returns the
        reference ``undo --snapshot=`` takes."""

    def get_snapshot(self, ref: str) -> tuple[bytes, str]:
        """(the snapshot's bytes, where it was read from); UsageError when there is none."""

    def close(self) -> None: ...


def last_good(entries: Sequence[JournalEntry], env: str, where: str) -> RunEntry:
    """The newest entry of ``env`` that ended well and recorded the fleet's images, its images checked."""
    if not entries:
        raise UsageError(f"no journal entries in {where}: nothing has been deployed with this tool yet; "
                         "use --date instead of --to=last-good")
    for entry in reversed(entries):
        if isinstance(entry, RunEntry) and entry.env == env and entry.state in GOOD_STATES \
                and (entry.images or entry.problem):
            return replace(entry, images=entry.usable_images())
    raise UsageError(f"the ledger {where} has no successful state for {env}; use --date instead")


def last_run(entries: Sequence[JournalEntry], env: str) -> RunEntry | None:
    return next((e for e in reversed(entries) if isinstance(e, RunEntry) and e.env == env), None)


def last_to_undo(store: StateStore, env: str) -> str:
    """``undo --last``: the snapshot reference of ``env``'s interrupted run, else of its newest run or deploy
    that changed something (an undo is never undone by --last: twice is a no-op, not a redo)."""
    interrupted = store.in_flight(env)
    if interrupted is not None and interrupted.snapshot:
        return interrupted.snapshot
    entry = next((e for e in reversed(store.entries(env)) if isinstance(e, RunEntry) and e.env == env
                  and e.snapshot and e.command != "undo"), None)
    if entry is None:
        raise UsageError(f"{store.describe()} records no run or deploy of {env} that changed something; "
                         "name the snapshot with --snapshot=<file>")
    return entry.snapshot


def failed_deploys(entries: Sequence[JournalEntry], env: str) -> dict[str, list[Failed]]:
    """Per service, the images this tool deployed that failed and were put back (evidence they did not run)."""
    found: dict[str, list[Failed]] = {}
    for entry in entries:
        if not isinstance(entry, RunEntry) or entry.env != env or not entry.tried:
            continue
        try:
            started, finished = parse_instant(entry.started_at), parse_instant(entry.at)
        except ValueError:
            continue  # an older entry is no evidence
        for service, tried in entry.tried.items():
            if tried.status == REVERTED:
                found.setdefault(service, []).append(Failed(tried.image, started, finished))
    return found


def utc_text(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
