"""Pure: the ran rule. Each service gets the image of the definition Marathon held at the end of the date.

Where the history does not reach back to that moment (or could not be read) the service is
left as it is, with the reason: never a guess. With ``with_config`` each changing app gets
that whole stored definition back (Marathon's ``{"version": ts}`` rollback).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from ..marathon.timeline import Definition, Timeline, merged, show
from ..releases.imageref import runs
from ..releases.index import Index, Release
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
             with_config: bool = False, problems: Mapping[str, str | None] | None = None) -> Plan:
    """``problems`` (service -> why its app is not healthy at rest) as for the build rule: an app
    already on its target but stuck is deployed again (:func:`~.plan.on_target`)."""
    problems = problems or {}
    tz = index.tz
    moment = day_end(date, tz)
    wave_of = {s: i for i, wave in enumerate(waves) for s in wave}
    steps: list[Step] = []
    for service in (index.services if services is None else services):
        app_id, now, wave = app_ids.get(service), current.get(service), wave_of.get(service, len(waves))
        timeline = timelines.get(service)
        held = timeline.held_at(moment) if timeline is not None and timeline.reaches(moment) else None
        if timeline is None or held is None:
            why = timeline.short_reason(moment, tz) if timeline is not None else "no Marathon app to read it from"
            steps.append(Step(service, app_id, now, None, NO_HISTORY,
                              f"history does not reach the end of {date} ({why}): left as it is", wave))
            continue
        image = held.definition.image
        if image is None:
            steps.append(Step(service, app_id, now, None, NO_HISTORY,
                              f"the definition held at the end of {date} has no Docker image: left as it is", wave))
            continue
        span = next(i for i in merged(timeline.intervals) if i.holds(moment))
        until = show(span.end, tz) if span.end else "now"
        evidence = f"held from {show(span.start, tz)} to {until}"
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
                                  f"held at the end of {date} (whole definition, version {then.version})",
                                  wave, release, evidence=evidence, restore_version=then.version))
            continue
        if now == image:
            steps.append(on_target(service, app_id, now, wave, problem=problems.get(service),
                                   tag=release.tag if release else image.rpartition(":")[2],
                                   unchanged="unchanged: already runs what it ran then", release=release,
                                   evidence=evidence))
        else:
            steps.append(Step(service, app_id, now, image, CHANGE, f"ran at the end of {date}", wave, release,
                              evidence=evidence))
    return Plan(env=index.env, date=date, steps=tuple(steps), waves=tuple(tuple(w) for w in waves), rule=RAN)


def ran_by_day(index: Index, timelines: Mapping[str, Timeline]) -> dict[str, list[str]]:
    """Per date of the index, the services whose release of that day Marathon's history shows held.

    Only services with a readable history are judged; a date none of them speaks for is absent.
    """
    found: dict[str, list[str]] = {}
    order = {s: i for i, s in enumerate(index.services)}
    for day, releases in index.rollbacks.items():
        judged = False
        names: set[str] = set()
        for release in releases:
            timeline = timelines.get(release.service)
            if timeline is None or not timeline.readable:
                continue
            judged = True
            tag, digest = release.tag, release.digest or None
            if timeline.ran(lambda image: image == release.image or runs(image, tag=tag, digest=digest)):
                names.add(release.service)
        if judged:
            found[day] = sorted(names, key=lambda s: order.get(s, 1 << 30))
    return found
