"""Pure: the ran rule. Each service gets the image of the definition Marathon held at the end of the date.

Where the history does not reach back to that moment (or could not be read) the service is
left as it is, with the reason: never a guess. With ``with_config`` each changing app gets
that whole stored definition back (Marathon's ``{"version": ts}`` rollback).
"""

from __future__ import annotations

import datetime as dt
from typing import Mapping, Sequence

from ..platform.timeline import Definition, Timeline, merged, show
from ..model.imageref import runs
from ..releases.index import Index
from ..model.release import Release
from .checks import day_end
from ..model.plan import CHANGE, NO_HISTORY, RAN, Plan, Step
from .build import on_target


def release_of(index: Index, service: str, image: str) -> Release | None:
    """The release of rollback.json an image runs (by tag, or digest when pinned), if any."""
    for release in reversed(index.releases(service)):
        if image == release.image or runs(image, tag=release.tag, digest=release.digest or None):
            return release
    return None


def plan_ran(index: Index, date: str, timelines: Mapping[str, Timeline], *, services: Sequence[str] | None = None,
             current: Mapping[str, str | None],
             current_defs: Mapping[str, Definition], app_ids: Mapping[str, str], waves: Sequence[Sequence[str]],
             with_config: bool = False, problems: Mapping[str, str | None] | None = None,
             at: dt.datetime | None = None) -> Plan:
    """``problems`` (service -> why its app is not healthy at rest) as for the build rule: an app
    already on its target but stuck is deployed again (:func:`~.plan.on_target`). ``at``: the moment
    (--at), else the end of ``date``."""
    problems = problems or {}
    tz, moment, when, wave_of = frame(index, date, at, waves)
    steps: list[Step] = []
    for service in (index.services if services is None else services):
        app_id, now, wave = app_ids.get(service), current.get(service), wave_of.get(service, len(waves))
        timeline = timelines.get(service)
        held = timeline.held_at(moment) if timeline is not None and timeline.reaches(moment) else None
        inferred = timeline.inferred_at(moment) if timeline is not None and held is None else None
        if timeline is None or (held is None and inferred is None):
            why = timeline.short_reason(moment, tz) if timeline is not None else "no Marathon app to read it from"
            steps.append(Step(service, app_id, now, None, NO_HISTORY,
                              f"history does not reach {when} ({why}): left as it is", wave))
            continue
        chosen = held or inferred
        assert chosen is not None
        image = chosen.definition.image
        if image is None:
            steps.append(Step(service, app_id, now, None, NO_HISTORY,
                              f"the definition held at {when} has no Docker image: left as it is", wave))
            continue
        if inferred is not None:
            if with_config:  # the definition of that moment is not among the versions kept
                steps.append(Step(service, app_id, now, None, NO_HISTORY, f"history does not reach {when} "
                                  f"({timeline.short_reason(moment, tz)}): left as it is", wave))
                continue
            span = merged(timeline.intervals)[0]
            until = show(span.end, tz) if span.end else "now"
            evidence = (f"in place from {show(inferred.start, tz)} to {until}: the oldest kept version "
                        f"{inferred.definition.version} was built on the configuration of "
                        f"{show(inferred.start, tz)} (versionInfo.lastConfigChangeAt; scale and restart keep the image)")
        else:
            span = next(i for i in merged(timeline.intervals) if i.holds(moment))
            until = show(span.end, tz) if span.end else "now"
            evidence = f"held from {show(span.start, tz)} to {until}"
        held = chosen
        release = release_of(index, service, image)
        if with_config:
            then, present = held.definition, current_defs.get(service)
            if present is not None and then.same_config(present) and then.instances == present.instances:
                steps.append(on_target(service, app_id, now, wave, problem=problems.get(service),
                                       tag=f"version {then.version}", unchanged="unchanged: already holds that "
                                       "definition", release=release, evidence=evidence,
                                       restore_version=then.version))
            else:
                steps.append(Step(service, app_id, now, image, CHANGE,
                                  f"held at {when} (whole definition, version {then.version})",
                                  wave, release, evidence=evidence, restore_version=then.version))
            continue
        if now == image:
            steps.append(on_target(service, app_id, now, wave, problem=problems.get(service),
                                   tag=release.tag if release else image.rpartition(":")[2],
                                   unchanged="unchanged: already runs what it ran then", release=release,
                                   evidence=evidence))
        else:
            steps.append(Step(service, app_id, now, image, CHANGE, f"ran at {when}", wave, release,
                              evidence=evidence))
    return Plan(env=index.env, date=date, steps=tuple(steps), waves=tuple(tuple(w) for w in waves), rule=RAN, at=at)


def frame(index: Index, date: str, at: dt.datetime | None, waves: Sequence[Sequence[str]]
          ) -> tuple[dt.tzinfo, dt.datetime, str, dict[str, int]]:
    """What every history rule starts from: the zone, the moment, its words, each service's wave."""
    moment = at or day_end(date, index.tz)
    return index.tz, moment, moment_text(date, at, index.tz), {s: i for i, wave in enumerate(waves) for s in wave}


def moment_text(date: str, at: dt.datetime | None, tz: dt.tzinfo) -> str:
    """``the end of 2026-11-19``, or the --at moment as ``2026-11-19 14:05`` in the index's zone."""
    return f"the end of {date}" if at is None or at == day_end(date, tz) else show(at, tz)


def ran_by_day(index: Index, timelines: Mapping[str, Timeline],
               served: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
    """Per date of the index, the services whose release of that day Marathon's history shows held, or
    that this tool's journal saw deployed and healthy (``served``: service -> images; the journal
    reaches back further than Marathon's history when versions were collected).

    A release is judged only when the history reaches back to its build (its oldest stored version is
    older): before that the history says nothing, even for an app whose whole history is listed (it
    may have been deleted and created again). A date none of whose releases is judged is absent:
    its label says ``ran: unknown``, never ``ran: none``.
    """
    found: dict[str, list[str]] = {}
    order = {s: i for i, s in enumerate(index.services)}
    for day, releases in index.rollbacks.items():
        judged = False
        names: set[str] = set()
        for release in releases:
            timeline = timelines.get(release.service)
            tag, digest = release.tag, release.digest or None
            if any(image == release.image or runs(image, tag=tag, digest=digest)
                   for image in (served or {}).get(release.service, ())):
                names.add(release.service)
                judged = True
                continue
            if timeline is None or not timeline.readable:
                continue
            if timeline.ran(lambda image: image == release.image or runs(image, tag=tag, digest=digest)):
                names.add(release.service)
                judged = True
            elif timeline.horizon is not None and timeline.horizon <= release.created:
                judged = True
        if judged:
            found[day] = sorted(names, key=lambda s: order.get(s, 1 << 30))
    return found
