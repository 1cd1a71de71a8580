"""Pure: what Marathon's history says about a plan. Checks warn; they never change a target.

- never-ran: a target image never appears in the history, although the history covers the
  time since it was built;
- never-together: the resolved set never ran together at any moment of the history;
- config-drift: the app's configuration other than the image changed after the date (field
  names only: values of env, secrets and labels may be secrets, so no value is ever shown);
- history-short: the history does not reach back to the date (or could not be read).
"""

from __future__ import annotations

import datetime as dt
from typing import Mapping, Sequence

from ..model.imageref import runs
from ..platform.timeline import Definition, ImageMatch, Timeline, changed_fields, not_compared, show
from .together import ran_together
from ..model.checks import CONFIG_DRIFT, HISTORY_SHORT, NEVER_RAN, NEVER_TOGETHER, Check
from ..model.plan import CHANGE, EXCLUDED, UNCHANGED, Plan, Step


def day_end(date: str, tz: dt.tzinfo) -> dt.datetime:
    """The last instant of ``date`` in ``tz`` (the moment the ran rule reads the history at)."""
    start = dt.datetime.combine(dt.date.fromisoformat(date), dt.time(), tzinfo=tz)
    following = dt.datetime.combine(dt.date.fromisoformat(date) + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    if start.utcoffset() != following.utcoffset():  # a DST change that day: normalise the wall time
        following = following.astimezone(dt.timezone.utc).astimezone(tz)
    return following.astimezone(dt.timezone.utc) - dt.timedelta(microseconds=1)


def matcher(step: Step) -> ImageMatch | None:
    """Does an image Marathon held run this step's target? By release (tag/digest) when known.

    A service left out of the run (--only/--exclude/pinned) keeps what it runs now: that is its target.
    """

    target = step.current if step.action == EXCLUDED else step.target
    if target is None:
        return None
    release = step.release
    if release is not None:
        tag, digest = release.tag, release.digest or None
        return lambda image: image == target or runs(image, tag=tag, digest=digest)
    return lambda image: image == target


def _label(step: Step) -> str:

    if step.action == EXCLUDED:
        return f"{(step.current or '-').rsplit(':', 1)[-1]} (left as it is)"
    return step.release.tag if step.release else (step.target or "-")


def run_checks(plan: Plan, timelines: Mapping[str, Timeline], current: Mapping[str, Definition], *,
               tz: dt.tzinfo, now: dt.datetime, with_config: bool = False) -> tuple[Check, ...]:
    """Every check of ``plan`` against the histories read (a service without a timeline is not judged)."""

    if plan.date is None:
        return ()
    moment = plan.at or day_end(plan.date, tz)
    at_end = plan.at is None or plan.at == day_end(plan.date, tz)
    when = f"the end of {plan.date}" if at_end else show(moment, tz)
    found: list[Check] = []
    targets = [s for s in plan.steps if s.action in (CHANGE, UNCHANGED) and s.target]
    # the fleet after the run must have run together: the services left out are part of it as they are
    kept = [s for s in plan.steps if s.action == EXCLUDED and s.current]
    judged = [s for s in plan.steps if s.action != EXCLUDED]
    for step in judged:
        timeline = timelines.get(step.service)
        if timeline is None:
            continue
        if not timeline.reaches(moment):
            found.append(Check(step.service, HISTORY_SHORT,
                               f"history does not reach {when}: {timeline.short_reason(moment, tz)}"))
    for step in targets:
        found.extend(_never_ran(step, timelines.get(step.service), tz))
    found.extend(_never_together(targets + kept, timelines, moment, now, tz))
    for step in judged:
        drift = _drift(step, timelines.get(step.service), current.get(step.service), moment,
                       plan.date if at_end else show(moment, tz),
                       with_config=with_config and step.action == CHANGE)
        if drift:
            found.append(drift)
    return tuple(found)


def _never_ran(step: Step, timeline: Timeline | None, tz: dt.tzinfo) -> list[Check]:
    match = matcher(step)
    if timeline is None or match is None or not timeline.readable:
        return []
    since = step.release.created if step.release else None
    if since is None or not timeline.covers_since(since) or timeline.ran(match):
        return []
    refused = [why for definition, why in timeline.not_run if definition.image and match(definition.image)]
    first = timeline.horizon or timeline.intervals[0].start
    detail = (f"{_label(step)} never ran in {timeline.app_id}: Marathon's history since {show(first, tz)} "
              "never held it")
    if refused:
        detail += f" (it was stored once but did not run: {refused[0]})"
    return [Check(step.service, NEVER_RAN, detail)]


def _never_together(targets: Sequence[Step], timelines: Mapping[str, Timeline], moment: dt.datetime,
                    now: dt.datetime, tz: dt.tzinfo) -> list[Check]:
    wanted: dict[str, ImageMatch] = {}
    steps = {s.service: s for s in targets}
    for step in targets:
        match = matcher(step)
        timeline = timelines.get(step.service)
        if match is not None and timeline is not None and timeline.readable:
            wanted[step.service] = match
    verdict = ran_together(timelines, wanted, near=moment, now=now)
    if verdict.ok:
        return []
    if verdict.pair:
        first, second = verdict.pair
        who = f"{first}, {second}"
        detail = f"{first} {_label(steps[first])} and {second} {_label(steps[second])} never ran at the same time"
    else:
        who = ", ".join(verdict.missing)
        detail = f"the set never ran at one moment; {who} never ran beside the others"
    if verdict.at is not None and len(verdict.matched) > 1:
        detail += (f"; nearest moment a part of the set ran together: {show(verdict.at, tz)} "
                   f"({', '.join(verdict.matched)})")
    else:
        detail += "; no two of these images ever ran together"
    return [Check(who, NEVER_TOGETHER, detail)]


def _drift(step: Step, timeline: Timeline | None, now: Definition | None, moment: dt.datetime, date: str, *,
           with_config: bool) -> Check | None:
    if timeline is None or now is None or not timeline.reaches(moment):
        return None
    held = timeline.held_at(moment)
    if held is None:
        return None
    changed = changed_fields(held.definition, now)
    if not changed:
        return None
    tail = "--with-config restores them" if with_config else "a rollback of the image alone keeps them as they are now"
    unseen = not_compared(held.definition, now)
    # the version cache keeps no value or hash of a secret field: those of a cached version are not compared
    unseen_note = f"; {', '.join(sorted(unseen))} not compared (the version cache keeps no secret)" if unseen else ""
    return Check(step.service, CONFIG_DRIFT,
                 f"configuration changed after {date}: {', '.join(changed)} (values not shown){unseen_note}; {tail}")
