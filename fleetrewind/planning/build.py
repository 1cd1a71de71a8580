"""Pure: the date index + what Marathon runs now -> a plan of typed steps. No network here."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Mapping, Sequence

from ..errors import UsageError
from ..releases.index import Index, day_of, target_for
from ..model.release import Release
from ..model.imageref import retarget, runs
from ..platform.timeline import show
from ..model.checks import Check
from ..model.plan import CHANGE, EXCLUDED, LEFT, NO_RELEASE, UNCHANGED, Plan, Step
from ..model.scope import Scope, Selection
from .checks import day_end

LeftOut = Mapping[str, tuple[str | None, str | None]]  # service -> (app id, image it runs), as far as known


def order_waves(services: Sequence[str], waves: Sequence[Sequence[str]]) -> list[list[str]]:
    """Configured waves first, in order; services no wave names form one last wave."""
    listed = [s for wave in waves for s in wave]
    dupes = {s for s in listed if listed.count(s) > 1}
    if dupes:
        raise UsageError(f"config 'waves' lists {', '.join(sorted(dupes))} more than once")
    chosen = set(services)
    result = [[s for s in wave if s in chosen] for wave in waves]
    rest = [s for s in services if s not in set(listed)]
    result.append(rest)
    return [wave for wave in result if wave]


def plan_for_date(index: Index, date: str, *, current: Mapping[str, str | None], app_ids: Mapping[str, str],
                  waves: Sequence[Sequence[str]], pin_digest: bool = False,
                  problems: Mapping[str, str | None] | None = None) -> Plan:
    """For each service: its newest release at or before the end of ``date`` vs what runs now.

    "Already runs it" is :func:`on_target`'s: the image AND a healthy app at rest (``problems``).
    """
    problems = problems or {}
    wave_of = {s: i for i, wave in enumerate(waves) for s in wave}
    steps: list[Step] = []
    for service in index.services:
        app_id = app_ids.get(service)
        now = current.get(service)
        release = target_for(index, service, date)
        wave = wave_of.get(service, len(waves))
        if release is None:
            steps.append(Step(service, app_id, now, None, NO_RELEASE,
                              f"no release at or before {date}: left as it is", wave))
            continue
        released_on = day_of(release.created, index.tz)
        why = "released that day" if released_on == date else f"filled from an older date ({released_on})"
        evidence = built_evidence(release, index)
        if runs(now, tag=release.tag, digest=release.digest or None):
            steps.append(on_target(service, app_id, now, wave, problem=problems.get(service), tag=release.tag,
                                   unchanged=f"unchanged: already runs {release.tag} ({why})", release=release,
                                   evidence=evidence))
            continue
        target = retarget(now, tag=release.tag, digest=release.digest, pin_digest=pin_digest) if now else release.image
        steps.append(Step(service, app_id, now, target, CHANGE, why, wave, release, evidence=evidence))
    return Plan(env=index.env, date=date, steps=tuple(steps), waves=tuple(tuple(w) for w in waves))


def built_evidence(release: Release, index: Index) -> str:
    return f"built {show(release.created, index.tz)}, release {release.tag}"


def plan_for_images(targets: Mapping[str, str], *, current: Mapping[str, str | None], app_ids: Mapping[str, str],
                    waves: Sequence[Sequence[str]], env: str, reason: str, date: str | None = None,
                    problems: Mapping[str, str | None] | None = None) -> Plan:
    """A plan to put each service on a given image (undo, deploy, last-good): same machinery."""
    problems = problems or {}
    wave_of = {s: i for i, wave in enumerate(waves) for s in wave}
    steps: list[Step] = []
    for service, target in targets.items():
        now = current.get(service)
        wave = wave_of.get(service, len(waves))
        if now == target:
            steps.append(on_target(service, app_ids.get(service), now, wave, problem=problems.get(service),
                                   tag=target.rpartition(":")[2], unchanged="unchanged: already runs it"))
        else:
            steps.append(Step(service, app_ids.get(service), now, target, CHANGE, reason, wave))
    return Plan(env=env, date=date, steps=tuple(steps), waves=tuple(tuple(w) for w in waves))


def on_target(service: str, app_id: str | None, now: str | None, wave: int, *, problem: str | None, tag: str,
              unchanged: str, release: Release | None = None, evidence: str = "",
              restore_version: str | None = None) -> Step:
    """The step of a service whose app already has its target (image, or whole definition), under every rule.

    "Already runs its target" needs the target AND a healthy app at rest (``problem``: what is wrong,
    from :attr:`FleetState.problems`): a service on its target but unhealthy, or with a deployment in
    flight, is deployed again and waited on, and the plan says why.
    """
    if problem:
        return Step(service, app_id, now, now, CHANGE, f"runs {tag} but {problem}: deployed again and waited on "
                    "until healthy", wave, release, evidence=evidence, restore_version=restore_version)
    return Step(service, app_id, now, now, UNCHANGED, unchanged, wave, release, evidence=evidence)


def scoped(plan: Plan, selection: Selection, scope: Scope, *,
           left_out: LeftOut | None = None) -> Plan:
    """The plan with every service outside ``selection`` turned into an excluded step (pins shown).

    ``left_out``: service -> (app id, image it runs), as far as Marathon could tell.
    """
    others = left_out or {}
    steps: list[Step] = []
    for step in plan.steps:
        pin = scope.pinned.get(step.service)
        if step.service in selection.left_out:
            app_id, current = others.get(step.service, (step.app_id, step.current))
            step = replace(step, app_id=app_id, current=current, target=None, action=EXCLUDED, release=None,
                           reason=selection.left_out[step.service], pinned=pin)
        elif pin is not None:
            step = replace(step, pinned=pin, reason=f"{step.reason} (pinned{': ' + pin if pin else ''}; named in --only)")
        steps.append(step)
    listed = {s.service for s in steps}
    for service, why in selection.left_out.items():  # left out before a plan step was made for it
        if service not in listed:
            app_id, current = others.get(service, (None, None))
            steps.append(Step(service, app_id, current, None, EXCLUDED, why, len(plan.waves),
                              pinned=scope.pinned.get(service)))
    return replace(plan, steps=tuple(steps), scope=scope)


def plan_for_versions(versions: Mapping[str, str], *, images: Mapping[str, str | None],
                      current_versions: Mapping[str, str | None], current: Mapping[str, str | None],
                      app_ids: Mapping[str, str], waves: Sequence[Sequence[str]], env: str, reason: str,
                      problems: Mapping[str, str | None] | None = None,
                      holds: Mapping[str, bool] | None = None) -> Plan:
    """A plan to put each app back on a whole stored definition (undo of --with-config, its revert).

    An app holds its definition when its version is the stored one, or when ``holds`` says the
    definitions match (a restored definition gets a new version string: undo twice is once).
    An app that holds the definition but is unhealthy or mid-deployment (``problems``) is restored
    again and waited on, as :func:`on_target` judges for every rule."""
    troubles = problems or {}
    wave_of = {s: i for i, wave in enumerate(waves) for s in wave}
    steps: list[Step] = []
    for service, version in versions.items():
        now, wave = current.get(service), wave_of.get(service, len(waves))
        if current_versions.get(service) == version or (holds or {}).get(service):
            steps.append(on_target(service, app_ids.get(service), now, wave, problem=troubles.get(service),
                                   tag=f"version {version}", unchanged="unchanged: already holds it",
                                   restore_version=version))
        else:
            steps.append(Step(service, app_ids.get(service), now, images.get(service) or now, CHANGE,
                              f"{reason} (whole definition, version {version})", wave, restore_version=version))
    return Plan(env=env, date=None, steps=tuple(steps), waves=tuple(tuple(w) for w in waves))


def render_table(plan: Plan) -> str:
    """The plan as a fixed-width table: service, app id, current, target, why."""
    header = ("SERVICE", "APP", "CURRENT", "TARGET", "WHY")
    rows = [header] + [
        (s.service, s.app_id or "-", s.current or "-", (s.target or "-") if s.action not in LEFT else "-",
         f"excluded: {s.reason}" if s.action == EXCLUDED else s.reason + _brackets(s))
        for s in plan.steps
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip() for row in rows]
    changes = len(plan.changes())
    excluded = len(plan.excluded())
    lines.append(f"{changes} of {len(plan.steps)} services change" + (f" (rollback to {rolls_back_to(plan)})" if plan.date else "")
                 + (f"; {excluded} excluded" if excluded else "") + (f", rule: {plan.rule}" if plan.date else ""))
    lines.extend(render_checks(plan.checks))
    return "\n".join(lines)


def rolls_back_to(plan: Plan) -> str | None:
    """``2026-11-19`` (its end), or the --at moment in the index's zone (``2026-11-19 12:00``): a day alone
    would hide that an earlier moment of it was asked."""
    if plan.date is None or plan.at is None:
        return plan.date
    zone = plan.at.tzinfo or dt.timezone.utc  # the index's (plan_by_rule sets it)
    if plan.at == day_end(plan.date, zone):
        return plan.date
    local = plan.at.astimezone(zone)
    return show(local, zone) + (local.strftime(":%S") if local.second or local.microsecond else "")


def _brackets(step: Step) -> str:
    """`` [verdict healthy; held from ...]``: what served, then which evidence chose the target."""
    parts = ([f"verdict {step.verdict}"] if step.verdict else []) + ([step.evidence] if step.evidence else [])
    return f" [{'; '.join(parts)}]" if parts else ""


def render_checks(checks: Sequence[Check]) -> list[str]:
    """One line per check, after the table (the Jenkins approval shows the plan file)."""
    return [f"check {c.kind}: {c.service}: {c.detail}" for c in checks]


def plan_json(plan: Plan) -> dict[str, object]:
    zone = plan.at.tzinfo if plan.at is not None and plan.at.tzinfo is not None else dt.timezone.utc  # the index's
    return {
        "env": plan.env,
        "date": plan.date,
        "rule": plan.rule,
        "at": plan.at.isoformat() if plan.at else None,
        "changes": len(plan.changes()),
        "checks": [c.as_dict() for c in plan.checks],
        "scope": {**plan.scope.as_dict(), "in_scope": plan.in_scope(), "excluded": [s.service for s in plan.excluded()]},
        "services": [
            {"service": s.service, "app_id": s.app_id, "current": s.current, "target": s.target,
             "action": s.action, "reason": s.reason, "wave": s.wave,
             "tag": s.release.tag if s.release else None, "pinned": s.pinned, "evidence": s.evidence,
             "verdict": str(s.verdict) if s.verdict else None,
             "verdict_evidence": [{"source": str(e.source), "at": e.at.astimezone(zone).isoformat(), "detail": e.detail}
                                  for e in s.proof]}
            for s in plan.steps
        ],
    }
