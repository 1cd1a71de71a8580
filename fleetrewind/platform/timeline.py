"""Pure: an app's stored versions -> the definitions it held, as intervals of time. No network here.

The platform reads the definitions (``marathon/definition.py`` for Marathon); this is what any
scheduler's history becomes. Marathon's ``/v2/apps/{id}/versions`` lists every definition it stored: config changes,
scale-only changes, restarts, rollbacks, and changes it refused with 409 after storing them
(docs/how-it-works.md, "What Marathon's history can prove"). It promises no order and keeps
at most ``zk_max_versions`` of them, so the list is read as "definitions seen", sorted here
by instant, and filtered to the ones that became current.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from ..instants import read_instant

# Does an image (as Marathon held it) run the wanted release?
ImageMatch = Callable[[str], bool]


class BadTimestamp(ValueError):
    """A version string that is not an ISO-8601 instant."""


def parse_instant(text: str) -> dt.datetime:
    """:func:`~fleetrewind.instants.read_instant`, refusing what it cannot read (BadTimestamp)."""
    moment = read_instant(text)
    if moment is None:
        raise BadTimestamp(f"{text!r} is not an ISO-8601 timestamp")
    return moment


def canonical(version: str) -> str:
    """``instant_text`` of a version string; Marathon's own spelling is already it (the fast path)."""
    if len(version) == 24 and version.endswith("Z") and version[19] == ".":
        return version
    return instant_text(parse_instant(version))


def instant_text(moment: dt.datetime) -> str:
    """One spelling per instant (``2026-11-19T10:05:00.123Z``): the key of caches and comparisons."""
    utc = moment.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Definition:
    """What the timeline needs of one stored version: never a value of env, secrets or labels.

    ``fields`` hash the fields that hold no secret (a plain hash: kept in the version cache);
    ``secret_fields`` hash the others with a key of this process (never written anywhere), and
    ``unknown`` names the secret fields of a definition read back from the cache, which keeps no
    value or hash of them (docs/how-it-works.md, "The version cache").
    """

    version: str                       # as Marathon listed it (used for {"version": ...} rollbacks)
    at: dt.datetime
    image: str | None
    instances: int
    fields: Mapping[str, str]          # field name -> hash of its value (no secret in it)
    config_change_at: dt.datetime | None = None
    scaling_at: dt.datetime | None = None
    secret_fields: Mapping[str, str] = field(default_factory=dict)  # name -> keyed hash, this process only
    unknown: frozenset[str] = frozenset()                           # secret fields whose values were not kept

    @property
    def config_change(self) -> bool:
        """A config change (or a rollback, or the first version): not a scale-only version."""
        return self.config_change_at is None or self.config_change_at >= self.at

    def same_config(self, other: "Definition") -> bool:
        """Same image and configuration, as far as both are known (secret fields the cache did not keep
        are compared by name only)."""
        return self.image == other.image and not changed_fields(self, other, instances=False)

    def to_json(self) -> dict[str, object]:
        """The version cache's entry: the secret fields by name only."""
        return {"version": self.version, "image": self.image, "instances": self.instances,
                "fields": dict(sorted(self.fields.items())),
                "secret_fields": sorted(set(self.secret_fields) | self.unknown),
                "config_change_at": instant_text(self.config_change_at) if self.config_change_at else None,
                "scaling_at": instant_text(self.scaling_at) if self.scaling_at else None}

    @classmethod
    def from_json(cls, data: object) -> "Definition":
        """The inverse of to_json (secret fields come back unknown); ValueError for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            raise ValueError("not a cached definition")
        image, instances, fields = data.get("image"), data.get("instances"), data.get("fields")
        secret = data.get("secret_fields")
        if image is not None and not isinstance(image, str):
            raise ValueError("not a cached definition")
        if not isinstance(instances, int) or isinstance(instances, bool) or not isinstance(fields, dict) \
                or not set(map(type, fields.values())) <= {str}  \
                or not isinstance(secret, list) or not set(map(type, secret)) <= {str}:
            raise ValueError("not a cached definition")
        return cls(version=data["version"], at=parse_instant(data["version"]), image=image, instances=instances,
                   fields=fields, config_change_at=optional_instant(data.get("config_change_at")),
                   scaling_at=optional_instant(data.get("scaling_at")), unknown=frozenset(secret))


def optional_instant(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadTimestamp(f"{value!r} is not an ISO-8601 timestamp")
    return parse_instant(value)


def changed_fields(then: Definition, now: Definition, *, instances: bool = True) -> list[str]:
    """Names of the configuration fields (image aside) that differ, ``instances`` included. A secret
    field whose value one side does not know (read back from the cache) counts only if it was added
    or removed: see :func:`not_compared`."""
    names = sorted(name for name in set(then.fields) | set(now.fields) if then.fields.get(name) != now.fields.get(name))
    then_secret, now_secret = set(then.secret_fields) | then.unknown, set(now.secret_fields) | now.unknown
    names += sorted(then_secret ^ now_secret)
    names += sorted(name for name in then_secret & now_secret - not_compared(then, now)
                    if then.secret_fields[name] != now.secret_fields[name])
    if instances and then.instances != now.instances:
        names.append("instances")
    return sorted(names)


def not_compared(then: Definition, now: Definition) -> set[str]:
    """Secret fields both definitions have, whose values could not be compared (the cache kept none)."""
    both = (set(then.secret_fields) | then.unknown) & (set(now.secret_fields) | now.unknown)
    return {name for name in both if name in then.unknown or name in now.unknown}


@dataclass(frozen=True)
class Interval:
    start: dt.datetime
    end: dt.datetime | None            # None: still held now
    definition: Definition

    def holds(self, moment: dt.datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class Failed:
    """The tool's own ledger: an image it deployed between two moments that failed and was put back."""

    image: str
    started: dt.datetime
    finished: dt.datetime


@dataclass(frozen=True)
class Timeline:
    app_id: str
    intervals: tuple[Interval, ...] = ()          # what the app held, oldest first
    not_run: tuple[tuple[Definition, str], ...] = ()  # stored but never current, and why
    horizon: dt.datetime | None = None            # the history says nothing before this moment
    complete: bool = False                        # fewer versions than the cap: it starts at the app's creation
    max_versions: int = 50
    problem: str | None = None                    # why the history could not be read
    capped: tuple[int, int] | None = None         # (read, listed): only the newest versions were read

    @property
    def readable(self) -> bool:
        return self.problem is None and bool(self.intervals)

    def held_at(self, moment: dt.datetime) -> Interval | None:
        return next((i for i in self.intervals if i.holds(moment)), None)

    def reaches(self, moment: dt.datetime) -> bool:
        """Does the history say what the app held at ``moment``?"""
        return self.readable and self.horizon is not None and self.horizon <= moment

    def inferred_at(self, moment: dt.datetime) -> Interval | None:
        """Before the horizon, what ``versionInfo.lastConfigChangeAt`` still proves: when the oldest kept
        version (one that ran) was built on a configuration in place since before ``moment``, its image
        was in place at ``moment`` (only a config change changes the image; docs/marathon-facts.md,
        "History"). The interval runs from that config change to the oldest version."""
        if not self.readable or self.reaches(moment) or self.intervals[0].start != self.horizon:
            return None
        oldest = self.intervals[0]
        since = oldest.definition.config_change_at
        if since is None or since > moment or moment >= oldest.start:
            return None
        return Interval(since, oldest.start, oldest.definition)

    def covers_since(self, moment: dt.datetime) -> bool:
        """Would every image the app held since ``moment`` be in the history?"""
        return self.readable and (self.complete or (self.horizon is not None and self.horizon <= moment))

    def ran(self, matches: ImageMatch) -> list[Interval]:
        return [i for i in self.intervals if i.definition.image is not None and matches(i.definition.image)]

    def short_reason(self, moment: dt.datetime, tz: dt.tzinfo) -> str:
        """Why the history does not reach ``moment`` (for history-short and the ran rule)."""
        if self.problem:
            return self.problem
        if not self.intervals:
            return "Marathon lists no version of it that ran"
        first = self.horizon or self.intervals[0].start
        if self.capped:
            return (f"only the newest {self.capped[0]} of its {self.capped[1]} versions are read (max_versions); "
                    f"the oldest read is from {show(first, tz)}")
        if self.complete:
            return f"the app was created at {show(first, tz)}, after that moment"
        return (f"Marathon keeps only the last {self.max_versions} versions; the oldest is from {show(first, tz)}")




def show(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """``2026-11-19 14:02`` in the configured time zone (the plan's evidence)."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def broken(app_id: str, reason: str) -> Timeline:
    return Timeline(app_id=app_id, problem=reason)


def build_timeline(app_id: str, stored: Iterable[Definition], *, current: Definition | None,
                   max_versions: int = 50, failed: Sequence[Failed] = (),
                   capped: tuple[int, int] | None = None) -> Timeline:
    """The intervals an app held, from its stored versions, what it holds now and the ledger.

    A stored version never became current when it is newer than the app's current version, or
    when a later version's ``lastConfigChangeAt`` is older than it although it was a config change
    (Marathon built that later version on the definition in effect, which was not this one): both
    are what a change refused with 409 after it was stored leaves. A version the ledger saw fail
    and be put back did not run either.
    """
    by_instant: dict[dt.datetime, Definition] = {}
    for definition in stored:
        by_instant.setdefault(definition.at, definition)
    listed = len(by_instant)
    if current is not None:
        by_instant.setdefault(current.at, current)
    ordered = sorted(by_instant.values(), key=lambda d: d.at)
    if not ordered:
        return Timeline(app_id=app_id, max_versions=max_versions, problem="Marathon lists no versions for it")
    not_run: dict[dt.datetime, str] = {}
    if current is not None:
        for definition in ordered:
            if definition.at > current.at:
                not_run[definition.at] = "stored after the version the app holds now (a change Marathon refused)"
    # newest first, keeping the later version whose lastConfigChangeAt is the oldest (one pass)
    oldest_base: Definition | None = None
    for definition in reversed(ordered):
        base = oldest_base.config_change_at if oldest_base is not None else None
        if oldest_base is not None and base is not None and definition.config_change and base < definition.at \
                and definition.at not in not_run:
            not_run[definition.at] = (f"version {oldest_base.version} was built on an older configuration "
                                      "(a change Marathon refused)")
        if definition.config_change_at is not None and (base is None or definition.config_change_at < base):
            oldest_base = definition
    for definition in ordered:
        if definition.at in not_run or definition.image is None:
            continue
        for entry in failed:
            if definition.image == entry.image and entry.started <= definition.at <= entry.finished:
                not_run[definition.at] = "the tool's ledger saw it fail and be put back"
    ran = [d for d in ordered if d.at not in not_run]
    intervals = tuple(Interval(d.at, ran[i + 1].at if i + 1 < len(ran) else None, d) for i, d in enumerate(ran))
    return Timeline(app_id=app_id, intervals=intervals,
                    not_run=tuple((d, not_run[d.at]) for d in ordered if d.at in not_run),
                    horizon=ordered[0].at, complete=listed < max_versions and capped is None,
                    max_versions=max_versions, capped=capped)


def merged(intervals: Sequence[Interval]) -> list[Interval]:
    """Neighbouring intervals of one image joined (scale-only and restart versions keep the image)."""
    out: list[Interval] = []
    for interval in intervals:
        if out and out[-1].definition.image == interval.definition.image and out[-1].end == interval.start:
            out[-1] = Interval(out[-1].start, interval.end, out[-1].definition)
        else:
            out.append(interval)
    return out


def deployed_between(timeline: Timeline, start: dt.datetime, end: dt.datetime) -> tuple[list[tuple[dt.datetime, str | None]], str | None]:
    """The image changes of an app's timeline in [start, end), oldest first, and why the list may be short."""
    if timeline.problem:
        return [], timeline.problem
    changes: list[tuple[dt.datetime, str | None]] = []
    previous: str | None = None
    for number, interval in enumerate(timeline.intervals):
        image = interval.definition.image
        if (number == 0 or image != previous) and start <= interval.start < end:
            changes.append((interval.start, image))
        previous = image
    note = None if timeline.covers_since(start) else timeline.short_reason(start, dt.timezone.utc)
    return changes, note
