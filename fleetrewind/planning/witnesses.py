"""The evidence about what served, gathered per service: the journal, observations, Marathon now.

Pure: the journal's typed entries (``model/journal.py``) come from the state store.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..instants import read_instant
from ..model.evidence import Deployed, Observation, TaskFailure
from ..model.journal import JournalEntry, ObservationEntry, RunEntry
from ..model.states import Status
from .verdicts import Witnesses


def deployed_from(entries: Iterable[JournalEntry], env: str) -> dict[str, list[Deployed]]:
    """Per service, what each run/deploy/undo of ``env`` deployed and how it ended (``tried``)."""
    found: dict[str, list[Deployed]] = {}
    for entry in entries:
        if not isinstance(entry, RunEntry) or entry.env != env or not entry.tried:
            continue
        started, finished = read_instant(entry.started_at), read_instant(entry.at)
        if started is None or finished is None:
            continue  # an older entry is no evidence
        run = Path(entry.report).stem.removeprefix("report-") if entry.report else started.strftime("%Y%m%dT%H%M%SZ")
        for service, tried in entry.tried.items():
            done = read_instant(tried.finished_at) or finished  # when the tool saw it done, else the run's end
            found.setdefault(service, []).append(Deployed(
                service=service, image=tried.image, run=run, started=started, finished=done,
                healthy=tried.status == Status.SUCCEEDED,
                watched=tried.seconds if tried.seconds is not None else (done - started).total_seconds(),
                rolled_back=tried.status == Status.ROLLED_BACK, version=tried.version))
    return found


def gather(service: str, live: Observation | None, *, deployed: Sequence[Deployed],
           observations: Sequence[Observation], now: dt.datetime) -> Witnesses:
    """Everything known about one service's app: the journal's entries, the observations kept, and what
    the platform shows now (``live``: its tasks' health, its last task failure)."""
    seen = list(observations)
    failures: list[TaskFailure] = [o.failure for o in observations if o.failure is not None]
    if live is not None:
        seen.append(live)
        if live.failure is not None:
            failures.append(live.failure)
    return Witnesses(deployed=tuple(deployed), observations=tuple(seen), failures=tuple(dict.fromkeys(failures)))


def worth_recording(previous: Observation | None, seen: Observation, *, min_soak: float) -> Observation | None:
    """What a ``get`` appends for one app: the journal grows with changes, not with the number of gets.

    A new state (another version, image, count or task failure) is recorded. The same state again is
    recorded once more, stretched from the first sighting, only when that makes it prove ``min_soak``
    of health the journal did not prove yet; otherwise nothing is written.
    """
    if previous is None or not previous.same_state(seen):
        return seen
    proved = (previous.last - previous.first).total_seconds()
    stretched = (seen.last - previous.first).total_seconds()
    if seen.serving and proved < min_soak <= stretched:
        return Observation(seen.service, seen.version, seen.image, seen.instances, seen.healthy, seen.running,
                           seen.staged, previous.first, seen.last, seen.failure)
    return None


def observations_from(entries: Iterable[JournalEntry], env: str) -> dict[str, list[Observation]]:
    """Per service, the observations the journal holds for ``env``, oldest first."""
    found: dict[str, list[Observation]] = {}
    for entry in entries:
        if isinstance(entry, ObservationEntry) and entry.env == env:
            found.setdefault(entry.seen.service, []).append(entry.seen)
    return found


def to_record(kept: Mapping[str, Sequence[Observation]], seen: Mapping[str, Observation], *,
              min_soak: float) -> list[Observation]:
    """What a get appends: per app, :func:`worth_recording` against the newest observation kept."""
    found = []
    for service, now in seen.items():
        previous = kept.get(service)
        entry = worth_recording(previous[-1] if previous else None, now, min_soak=min_soak)
        if entry is not None:
            found.append(entry)
    return found
