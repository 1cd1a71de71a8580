"""Pure: the third witness in a plan. The good rule, each step's verdict, and the checks verdicts raise.

- ``--rule=good``: each service gets the newest version held at or before the moment whose verdict
  is ``healthy``; else the newest ``unproven`` one (an ``unproven`` check); never a ``failed`` or
  ``short-lived`` one (``no-good-version``: the app is left as it is).
- Under every rule each target carries the verdict of the version that holds it (``plan --json``'s
  ``verdict``), and: ``never-healthy``/``short-lived`` for a ``--rule=ran`` target that failed or was
  short-lived; ``failed-before`` for an image this tool rolled back in this environment (naming the
  run and when), or, under ``--rule=built``, a target that failed when Marathon held it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Mapping, Sequence

from ..platform.timeline import Timeline, show
from ..model.checks import FAILED_BEFORE, NEVER_HEALTHY, NO_GOOD_VERSION, SHORT_LIVED, UNPROVEN, Check
from ..model.evidence import Deployed, Judgement, Verdict
from ..model.plan import CHANGE, GOOD, NO_GOOD_VERSION as LEFT_NO_GOOD, NO_HISTORY, RAN, UNCHANGED, Plan, Step
from ..releases.index import Index
from .build import on_target
from .checks import day_end, matcher
from .ranrule import frame, moment_text, release_of
from .verdicts import at as held_at, last_good


def plan_good(index: Index, date: str, timelines: Mapping[str, Timeline],
              judgements: Mapping[str, Sequence[Judgement]], *, services: Sequence[str], current: Mapping[str, str | None],
              app_ids: Mapping[str, str], waves: Sequence[Sequence[str]],
              problems: Mapping[str, str | None] | None = None, at: dt.datetime | None = None) -> Plan:
    """The good rule's plan (see the module)."""
    problems = problems or {}
    tz, moment, when, wave_of = frame(index, date, at, waves)
    steps: list[Step] = []
    for service in services:
        app_id, now, wave = app_ids.get(service), current.get(service), wave_of.get(service, len(waves))
        timeline = timelines.get(service)
        judged = judgements.get(service, ())
        earlier = [j for j in judged if j.start is not None and j.start <= moment]
        if timeline is None or not earlier:
            why = timeline.short_reason(moment, tz) if timeline is not None else "no Marathon app to read it from"
            steps.append(Step(service, app_id, now, None, NO_HISTORY,
                              f"history does not reach {when} ({why}): left as it is", wave))
            continue
        good = last_good(judged, moment)
        if good is None or good.image is None:
            worst = earlier[-1]
            steps.append(Step(service, app_id, now, None, LEFT_NO_GOOD,
                              f"every version held by {when} failed or was short-lived: left as it is", wave,
                              evidence=worst.summary(tz), verdict=worst.verdict, proof=worst.evidence))
            continue
        image, release = good.image, release_of(index, service, good.image)
        until = show(good.end, tz) if good.end else "now"
        evidence = f"held from {show(good.start or moment, tz)} to {until}; {good.summary(tz)}"
        why = "served healthy" if good.verdict == Verdict.HEALTHY else "held, not proven healthy"
        if now == image:
            steps.append(replace(on_target(service, app_id, now, wave, problem=problems.get(service),
                                           tag=release.tag if release else image.rpartition(":")[2],
                                           unchanged=f"unchanged: already runs the last good version ({why})",
                                           release=release, evidence=evidence), verdict=good.verdict,
                                 proof=good.evidence))
        else:
            steps.append(Step(service, app_id, now, image, CHANGE, f"{why} by {when}", wave, release,
                              evidence=evidence, verdict=good.verdict, proof=good.evidence))
    return Plan(env=index.env, date=date, steps=tuple(steps), waves=tuple(tuple(w) for w in waves), rule=GOOD, at=at)


def _target_judgement(step: Step, judged: Sequence[Judgement], moment: dt.datetime, rule: str) -> Judgement | None:
    """The version a target is judged by: held at the moment (ran), else the newest span of its image."""
    if rule == RAN:
        found = held_at(judged, moment)
        if found is not None:
            return found
    match = matcher(step)
    spans = [j for j in judged if match is not None and j.image is not None and match(j.image)]
    before = [j for j in spans if j.start is not None and j.start <= moment]
    chosen = before or spans
    return chosen[-1] if chosen else None


def with_verdicts(plan: Plan, judgements: Mapping[str, Sequence[Judgement]], *, tz: dt.tzinfo) -> Plan:
    """Each target step with the verdict of its version (already set by the good rule)."""
    moment = plan.at or day_end(plan.date, tz) if plan.date else None
    if moment is None:
        return plan
    steps = []
    for step in plan.steps:
        if step.verdict is None and step.action in (CHANGE, UNCHANGED) and step.target:
            judged = _target_judgement(step, judgements.get(step.service, ()), moment, plan.rule)
            if judged is not None:
                step = replace(step, verdict=judged.verdict, proof=judged.evidence)
        steps.append(step)
    return replace(plan, steps=tuple(steps))


def verdict_checks(plan: Plan, judgements: Mapping[str, Sequence[Judgement]],
                   deployed: Mapping[str, Sequence[Deployed]], *, tz: dt.tzinfo) -> tuple[Check, ...]:
    """The checks the verdicts raise (see the module); they warn, ``--strict`` refuses some."""
    moment = plan.at or day_end(plan.date, tz) if plan.date else None
    if moment is None:
        return ()
    when = moment_text(plan.date or "", plan.at, tz)
    found: list[Check] = []
    for step in plan.steps:
        if step.action == LEFT_NO_GOOD:
            found.append(Check(step.service, NO_GOOD_VERSION, f"no version held by {when} served healthy or went "
                               f"unproven (newest: {step.evidence}); left as it is"))
            continue
        if step.action not in (CHANGE, UNCHANGED) or not step.target:
            continue
        tag = step.release.tag if step.release else step.target.rpartition(":")[2]
        judged = judgements.get(step.service, ())
        target = _target_judgement(step, judged, moment, plan.rule)
        if plan.rule == RAN and target is not None and target.verdict == Verdict.FAILED:
            found.append(Check(step.service, NEVER_HEALTHY, f"{tag} was held at {when} but never served healthy: "
                               f"{target.summary(tz)}"))
        elif plan.rule == RAN and target is not None and target.verdict == Verdict.SHORT_LIVED:
            found.append(Check(step.service, SHORT_LIVED, f"{tag} was held at {when} only briefly: "
                               f"{target.summary(tz)}"))
        elif plan.rule == GOOD and step.verdict == Verdict.UNPROVEN:
            found.append(Check(step.service, UNPROVEN, f"no version held by {when} was seen healthy for the soak "
                               f"time; {tag} is the newest that neither failed nor was short-lived"))
        failed = _rolled_back(step, deployed.get(step.service, ()))
        if failed is not None:
            found.append(Check(step.service, FAILED_BEFORE, f"{tag} failed before: this tool rolled it back in run "
                               f"{failed.run} at {show(failed.finished, tz)}"))
        elif plan.rule != RAN:
            match = matcher(step)
            bad = [j for j in judged if j.verdict == Verdict.FAILED and j.image and match and match(j.image)]
            if bad:
                found.append(Check(step.service, FAILED_BEFORE, f"{tag} failed when Marathon held it: "
                                   f"{bad[-1].summary(tz)}"))
    return tuple(found)


def rolled_back_checks(plan: Plan, deployed: Mapping[str, Sequence[Deployed]], *, tz: dt.tzinfo) -> tuple[Check, ...]:
    """``failed-before`` for each changing service whose target this tool rolled back before (deploy's plan:
    an image named by hand is no silent retry of a failure either)."""
    found = []
    for step in plan.changes():
        failed = _rolled_back(step, deployed.get(step.service, ()))
        if failed is not None and step.target:
            found.append(Check(step.service, FAILED_BEFORE, f"{step.target.rpartition(':')[2]} failed before: this "
                               f"tool rolled it back in run {failed.run} at {show(failed.finished, tz)}"))
    return tuple(found)


def _rolled_back(step: Step, deployed: Sequence[Deployed]) -> Deployed | None:
    """The newest run of this tool that deployed the step's target and rolled it back."""
    match = matcher(step)
    failed = [d for d in deployed if d.rolled_back and match is not None and match(d.image)]
    return max(failed, key=lambda d: d.finished) if failed else None
