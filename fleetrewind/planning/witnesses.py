"""The evidence about what served, gathered per service: the journal, observations, Marathon now.

Pure but for :func:`journal_docs`, which reads the journal (the ledger file) the way the history
reader reads it: best effort, a torn or older line is no evidence.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..inputs import loads, read_text
from ..instants import read_instant
from ..model.evidence import Deployed, Observation, TaskFailure
from ..model.states import Status
from .verdicts import Witnesses


def journal_docs(path: Path) -> list[object]:
    """Every JSON line of the journal, oldest first ([] without one)."""
    try:
        lines = read_text(path).splitlines()
    except (OSError, ValueError):
        return []
    docs: list[object] = []
    for line in lines:
        try:
            docs.append(loads(line))
        except ValueError:
            continue  # a torn line after a crash
    return docs


def deployed_from(docs: Iterable[object], env: str) -> dict[str, list[Deployed]]:
    """Per service, what each run/deploy/undo of ``env`` deployed and how it ended (``tried``)."""
    found: dict[str, list[Deployed]] = {}
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("env") != env or not isinstance(doc.get("tried"), dict):
            continue
        started, finished = read_instant(doc.get("started_at")), read_instant(doc.get("at"))
        if started is None or finished is None:
            continue  # an older entry is no evidence
        report = doc.get("report")
        run = Path(report).stem.removeprefix("report-") if isinstance(report, str) and report else \
            started.strftime("%Y%m%dT%H%M%SZ")
        for service, tried in doc["tried"].items():
            if not isinstance(tried, dict) or not isinstance(tried.get("image"), str):
                continue
            status = tried.get("status")
            done = read_instant(tried.get("finished_at")) or finished  # when the tool saw it done, else the run's end
            watched = tried.get("seconds")
            found.setdefault(str(service), []).append(Deployed(
                service=str(service), image=tried["image"], run=run, started=started, finished=done,
                healthy=status == Status.SUCCEEDED,
                watched=float(watched) if isinstance(watched, (int, float)) and not isinstance(watched, bool)
                else (done - started).total_seconds(),
                rolled_back=status == Status.ROLLED_BACK,
                version=tried.get("version") if isinstance(tried.get("version"), str) else None))
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


OBSERVATION = "observation"  # the journal entry kind a get writes per app


def _instant_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def observation_doc(env: str, seen: Observation) -> dict[str, object]:
    """The journal entry of one observation (JSON at the edge; no value of env or secrets is in it)."""
    failure = seen.failure
    return {"kind": OBSERVATION, "env": env, "at": _instant_text(seen.last), "service": seen.service,
            "version": seen.version, "image": seen.image, "instances": seen.instances, "healthy": seen.healthy,
            "running": seen.running, "staged": seen.staged, "first": _instant_text(seen.first),
            "failure": {"version": _instant_text(failure.version), "at": _instant_text(failure.at),
                        "state": failure.state} if failure else None}


def _count(doc: Mapping[str, object], key: str) -> int | None:
    value = doc.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def observation_of(doc: object, env: str) -> Observation | None:
    """An observation entry read back (untrusted: anything odd is no evidence)."""
    if not isinstance(doc, dict) or doc.get("kind") != OBSERVATION or doc.get("env") != env:
        return None
    first, last = read_instant(doc.get("first")), read_instant(doc.get("at"))
    counts = [_count(doc, k) for k in ("instances", "healthy", "running", "staged")]
    service, version, image = doc.get("service"), doc.get("version"), doc.get("image")
    if first is None or last is None or None in counts or not isinstance(service, str) \
            or not isinstance(version, str) or not (image is None or isinstance(image, str)):
        return None
    failure = None
    raw = doc.get("failure")
    if isinstance(raw, dict):
        when, at, state = read_instant(raw.get("version")), read_instant(raw.get("at")), raw.get("state")
        if when is not None and at is not None and isinstance(state, str):
            failure = TaskFailure(when, at, state[:40])
    instances, healthy, running, staged = (c or 0 for c in counts)
    return Observation(service, version, image, instances, healthy, running, staged, first, last, failure)


def observations_from(docs: Iterable[object], env: str) -> dict[str, list[Observation]]:
    """Per service, the observations the journal holds for ``env``, oldest first."""
    found: dict[str, list[Observation]] = {}
    for doc in docs:
        seen = observation_of(doc, env)
        if seen is not None:
            found.setdefault(seen.service, []).append(seen)
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
