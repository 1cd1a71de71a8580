"""Pure: a verdict per version an app held (healthy, failed, short-lived, unproven), from three witnesses.

A "version" here is a span of one image in Marathon's history (scale-only and restart versions
keep the image and join it: docs/how-it-works.md, "Three witnesses"). The rules, in order:

1. ``failed``: this tool deployed the image there and rolled it back (the journal);
2. ``healthy``: seen serving (every instance healthy) over at least ``min_soak`` seconds, from the
   first sighting to the last with no failure of that version between (journal, observations, or
   Marathon's tasks now with their ``firstSuccess``);
3. ``failed``: a task failure names the version (Marathon's ``lastTaskFailure``, or one an
   observation kept) and nothing ever saw it healthy;
4. ``short-lived``: held less than ``min_soak`` and nothing saw it healthy;
5. ``unproven``: anything else (held, no evidence either way).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..platform.timeline import Interval, Timeline, merged, show
from ..model.evidence import (DEFAULT_MIN_SOAK, Deployed, Evidence, Judgement, Observation, Source, TaskFailure,
                              Verdict)


@dataclass(frozen=True)
class Witnesses:
    """Everything known about one app besides its stored versions."""

    deployed: tuple[Deployed, ...] = ()        # the journal's entries for the service
    observations: tuple[Observation, ...] = ()  # what get (and this read of Marathon) saw running
    failures: tuple[TaskFailure, ...] = ()      # lastTaskFailure now, and any an observation kept


def _in(span: Interval, moment: dt.datetime) -> bool:
    return span.start <= moment and (span.end is None or moment < span.end)


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes >= 120:
        return f"{minutes // 60} h"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


def judge_span(span: Interval, witnesses: Witnesses, *, now: dt.datetime, tz: dt.tzinfo,
               min_soak: float = DEFAULT_MIN_SOAK) -> Judgement:
    """The verdict on one span of an app's history (see the module's rules)."""
    image = span.definition.image
    end = span.end or now
    held = (end - span.start).total_seconds()

    def judged(verdict: Verdict, *evidence: Evidence) -> Judgement:
        return Judgement(verdict, evidence, image, span.start, span.end)

    for entry in witnesses.deployed:
        if entry.rolled_back and entry.image == image and span.start <= entry.finished and entry.started <= end:
            return judged(Verdict.FAILED, Evidence(Source.JOURNAL, entry.finished,
                                                   f"run {entry.run} deployed {_tag(image)}, it failed and was "
                                                   "rolled back"))
    sightings: list[tuple[dt.datetime, dt.datetime, Source, str]] = []
    for entry in witnesses.deployed:
        if entry.healthy and entry.image == image and _in(span, entry.finished):
            sightings.append((entry.finished, entry.finished, Source.JOURNAL,
                              f"run {entry.run} saw {_tag(image)} healthy"))
    for seen in witnesses.observations:
        if seen.serving and seen.image == image and (_in(span, seen.first) or _in(span, seen.last)):
            first, last = max(seen.first, span.start), min(seen.last, end)
            sightings.append((first, last, Source.OBSERVATION,
                              f"{seen.healthy}/{seen.instances} healthy from {show(first, tz)} to {show(last, tz)}"))
    failures = sorted((f for f in witnesses.failures if _in(span, f.version)), key=lambda f: f.at)
    if sightings:
        soak, first, last = _soak(sightings, failures)
        if soak >= min_soak:
            best = max(sightings, key=lambda s: (s[1] - s[0], s[1]))
            return judged(Verdict.HEALTHY, Evidence(best[2], best[0], best[3]),
                          Evidence(Source.MARATHON, span.start, f"seen healthy for {_duration(soak)} "
                                   f"({show(first, tz)} to {show(last, tz)})"))
    if failures and not sightings:
        failure = failures[-1]
        return judged(Verdict.FAILED, Evidence(Source.MARATHON, failure.at,
                                               f"a task of version {show(failure.version, tz)} ended "
                                               f"{failure.state} and no one saw it healthy"))
    until = show(span.end, tz) if span.end else "now"
    if held < min_soak and not sightings:
        return judged(Verdict.SHORT_LIVED, Evidence(Source.MARATHON, span.start,
                                                    f"held {_duration(held)} ({show(span.start, tz)} to {until}), "
                                                    "never seen healthy"))
    detail = f"held from {show(span.start, tz)} to {until}; no evidence of health either way"
    if sightings:
        detail = f"held from {show(span.start, tz)} to {until}; seen healthy for less than {_duration(min_soak)}"
    return judged(Verdict.UNPROVEN, Evidence(Source.MARATHON, span.start, detail))


def _soak(sightings: Sequence[tuple[dt.datetime, dt.datetime, Source, str]],
          failures: Sequence[TaskFailure]) -> tuple[float, dt.datetime, dt.datetime]:
    """The longest stretch from one sighting to a later one with no failure of the version between."""
    ordered = sorted(sightings, key=lambda s: s[0])
    start, last = ordered[0][0], ordered[0][1]
    stretches: list[tuple[float, dt.datetime, dt.datetime]] = []
    for first, end, _source, _detail in ordered[1:]:
        if any(last < f.at < first for f in failures):
            stretches.append(((last - start).total_seconds(), start, last))
            start = first
        last = max(last, end)
    stretches.append(((last - start).total_seconds(), start, last))
    return max(stretches, key=lambda s: s[0])


def _tag(image: str | None) -> str:
    return (image or "-").rsplit("/", 1)[-1]


def judge(timeline: Timeline, witnesses: Witnesses, *, now: dt.datetime, tz: dt.tzinfo,
          min_soak: float = DEFAULT_MIN_SOAK) -> tuple[Judgement, ...]:
    """Every span of the app's readable history, oldest first, judged."""
    if not timeline.readable:
        return ()
    spans = merged(timeline.intervals)
    first = spans[0]
    since = first.definition.config_change_at
    if timeline.intervals[0].start == timeline.horizon and since is not None and since < first.start:
        # scale-only versions pushed out of the list: the image was in place since its config change
        spans[0] = Interval(since, first.end, first.definition)
    return tuple(judge_span(span, witnesses, now=now, tz=tz, min_soak=min_soak) for span in spans)


def at(judgements: Iterable[Judgement], moment: dt.datetime) -> Judgement | None:
    """The judgement of the span held at ``moment``."""
    return next((j for j in judgements if j.start is not None and j.start <= moment
                 and (j.end is None or moment < j.end)), None)


def last_good(judgements: Sequence[Judgement], moment: dt.datetime) -> Judgement | None:
    """The ``good`` rule: the newest span held at or before ``moment`` that is healthy, else the newest
    unproven one; never a failed or short-lived one (None then)."""
    held = [j for j in judgements if j.start is not None and j.start <= moment]
    for wanted in (Verdict.HEALTHY, Verdict.UNPROVEN):
        found = [j for j in held if j.verdict == wanted]
        if found:
            return found[-1]
    return None
