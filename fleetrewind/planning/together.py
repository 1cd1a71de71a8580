"""Pure: did a set of images run together at one moment of their apps' timelines? No network here.

The checks' ``never-together`` (docs/how-it-works.md, "Checks"): a sweep over the moments a
target image's span starts, which is where the number of services on their targets can grow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..platform.timeline import ImageMatch, Interval, Timeline


@dataclass(frozen=True)
class Together:
    """Did a set of (service -> image) run at one moment? If not, who breaks it and the nearest best moment."""

    ok: bool
    at: dt.datetime | None = None                  # a moment when the most of the set ran together
    matched: tuple[str, ...] = ()                  # the services on their image at that moment
    missing: tuple[str, ...] = ()
    pair: tuple[str, str] | None = None            # two services whose images never overlapped
    window_start: dt.datetime | None = None


def ran_together(timelines: Mapping[str, Timeline], wanted: Mapping[str, ImageMatch], *,
                 near: dt.datetime, now: dt.datetime) -> Together:
    """Sweep every moment the histories share; ``near`` breaks ties (the end of the date)."""
    services = [s for s in wanted if s in timelines and timelines[s].readable]
    if len(services) < 2:
        return Together(ok=True)
    horizons = [timelines[s].horizon for s in services]
    start = max(h for h in horizons if h is not None)
    spans: dict[str, list[Interval]] = {s: timelines[s].ran(wanted[s]) for s in services}
    # the number of services on their target only grows where a target span starts: look there
    moments = {start} | {i.start for s in services for i in spans[s] if i.start >= start}

    def on_target(service: str, moment: dt.datetime) -> bool:
        return any(i.holds(moment) for i in spans[service])

    best: tuple[int, float, dt.datetime] | None = None
    best_set: tuple[str, ...] = ()
    for moment in sorted(moments):
        if moment > now:
            continue
        matched = tuple(s for s in services if on_target(s, moment))
        if len(matched) == len(services):
            return Together(ok=True, at=moment, matched=matched, window_start=start)
        score = (len(matched), -abs((moment - near).total_seconds()), moment)
        if matched and (best is None or score[:2] > best[:2]):
            best, best_set = score, matched
    pair = _pair_apart(services, spans, start)
    at = best[2] if best else None
    return Together(ok=False, at=at, matched=best_set, missing=tuple(s for s in services if s not in best_set),
                    pair=pair, window_start=start)


def _pair_apart(services: Sequence[str], spans: Mapping[str, list[Interval]], start: dt.datetime) -> tuple[str, str] | None:
    """The first two services whose target images never ran at the same moment (since ``start``)."""
    def overlap(a: Interval, b: Interval) -> bool:
        lo = max(a.start, b.start, start)
        hi_a, hi_b = a.end, b.end
        hi = min(x for x in (hi_a, hi_b) if x is not None) if (hi_a or hi_b) else None
        return hi is None or lo < hi

    for i, first in enumerate(services):
        for second in services[i + 1:]:
            if not any(overlap(a, b) for a in spans[first] for b in spans[second]):
                return first, second
    return None
