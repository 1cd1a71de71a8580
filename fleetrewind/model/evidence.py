"""What served: the verdict on one (app, version) and the evidence behind it. Types only.

Three witnesses speak about a version (docs/how-it-works.md, "Three witnesses"): the journal (what
this tool deployed and saw, or rolled back), observations (what each ``get`` saw running), and
Marathon itself (how long a version was held, its ``lastTaskFailure``, its tasks' health now).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MIN_SOAK = 600.0  # seconds a version must be seen healthy to be healthy (config min_soak)


class Verdict(StrEnum):
    """plan --json's per-service ``verdict``."""

    HEALTHY = "healthy"            # seen healthy for at least min_soak
    FAILED = "failed"              # rolled back by this tool, or Marathon's last task failure names it, never healthy
    SHORT_LIVED = "short-lived"    # held less than min_soak, never seen healthy
    UNPROVEN = "unproven"          # held, no evidence either way


class Source(StrEnum):
    """Who saw it."""

    JOURNAL = "journal"            # this tool's own deployments (run, deploy, undo)
    OBSERVATION = "observation"    # what a get saw running
    MARATHON = "marathon"          # Marathon's stored versions, lastTaskFailure, tasks now


@dataclass(frozen=True)
class Evidence:
    source: Source
    at: dt.datetime                # when it was seen (UTC; shown in the index's zone)
    detail: str                    # one line, no secret (versions, images, counts, times)


@dataclass(frozen=True)
class TaskFailure:
    """Marathon's ``lastTaskFailure`` of an app: the newest failure only (docs/marathon-facts.md, "History")."""

    version: dt.datetime           # the app version the failed task ran
    at: dt.datetime
    state: str                     # TASK_FAILED, TASK_KILLED (failed health checks), ...


@dataclass(frozen=True)
class Observation:
    """What one read of an app showed, held from ``first`` to ``last`` (compacted: a later read that
    shows the same only moves ``last``)."""

    service: str
    version: str                   # the app version it ran (Marathon's spelling)
    image: str | None
    instances: int
    healthy: int                   # tasks of that version healthy (running ones when the app has no checks)
    running: int
    staged: int
    first: dt.datetime
    last: dt.datetime
    failure: TaskFailure | None = None

    @property
    def serving(self) -> bool:
        """Every wanted instance running healthy."""
        return self.instances > 0 and self.healthy >= self.instances

    def same_state(self, other: "Observation") -> bool:
        return (self.service, self.version, self.image, self.instances, self.healthy, self.running, self.staged,
                self.failure) == (other.service, other.version, other.image, other.instances, other.healthy,
                                  other.running, other.staged, other.failure)


@dataclass(frozen=True)
class Deployed:
    """The journal: one service of one run/deploy/undo of this tool, as it ended."""

    service: str
    image: str
    run: str                       # the run's stamp (its report), to name it in a check
    started: dt.datetime
    finished: dt.datetime          # when its deployment finished (or failed)
    healthy: bool                  # the tool saw it running healthy at ``finished``
    watched: float                 # seconds the tool watched it
    rolled_back: bool              # it failed and the tool put the snapshot image back
    version: str | None = None     # the Marathon version it made, when known


@dataclass(frozen=True)
class Judgement:
    """The verdict on one version (a span of one image in Marathon's history) and why."""

    verdict: Verdict
    evidence: tuple[Evidence, ...]
    image: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None  # None: held now

    def summary(self, tz: dt.tzinfo) -> str:
        """``healthy (observation 2026-11-19 14:12: ...)``: the verdict and its strongest evidence."""
        if not self.evidence:
            return str(self.verdict)
        first = self.evidence[0]
        return f"{self.verdict} ({first.source} {first.at.astimezone(tz).strftime('%Y-%m-%d %H:%M')}: {first.detail})"
