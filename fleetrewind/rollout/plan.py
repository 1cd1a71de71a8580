"""Pure: the date index + what Marathon runs now -> a plan of typed steps. No network here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..releases.index import Index, Release, day_of, target_for
from ..releases.imageref import retarget, runs

CHANGE = "change"
UNCHANGED = "unchanged"
NO_RELEASE = "no-release"


@dataclass(frozen=True)
class Step:
    service: str
    app_id: str | None
    current: str | None
    target: str | None
    action: str
    reason: str
    wave: int = 0
    release: Release | None = None


@dataclass(frozen=True)
class Plan:
    env: str
    date: str | None
    steps: tuple[Step, ...]
    waves: tuple[tuple[str, ...], ...] = field(default=())

    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.action == CHANGE]

    def step(self, service: str) -> Step:
        return next(s for s in self.steps if s.service == service)

    def wave_steps(self) -> list[list[Step]]:
        """The changing steps, grouped by wave, in deployment order."""
        by_wave: dict[int, list[Step]] = {}
        for step in self.changes():
            by_wave.setdefault(step.wave, []).append(step)
        return [by_wave[w] for w in sorted(by_wave)]


def plan_for_date(index: Index, date: str, *, current: Mapping[str, str | None], app_ids: Mapping[str, str],
                  waves: Sequence[Sequence[str]], pin_digest: bool = False) -> Plan:
    """For each service: its newest release at or before the end of ``date`` vs what runs now."""
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
        if runs(now, tag=release.tag, digest=release.digest or None):
            steps.append(Step(service, app_id, now, now, UNCHANGED, f"unchanged: already runs {release.tag} ({why})",
                              wave, release))
            continue
        target = retarget(now, tag=release.tag, digest=release.digest, pin_digest=pin_digest) if now else release.image
        steps.append(Step(service, app_id, now, target, CHANGE, why, wave, release))
    return Plan(env=index.env, date=date, steps=tuple(steps), waves=tuple(tuple(w) for w in waves))


def plan_for_images(targets: Mapping[str, str], *, current: Mapping[str, str | None], app_ids: Mapping[str, str],
                    waves: Sequence[Sequence[str]], env: str, reason: str, date: str | None = None) -> Plan:
    """A plan to put each service on a given image (undo, deploy, last-good): same machinery."""
    wave_of = {s: i for i, wave in enumerate(waves) for s in wave}
    steps: list[Step] = []
    for service, target in targets.items():
        now = current.get(service)
        wave = wave_of.get(service, len(waves))
        if now == target:
            steps.append(Step(service, app_ids.get(service), now, now, UNCHANGED, "unchanged: already runs it", wave))
        else:
            steps.append(Step(service, app_ids.get(service), now, target, CHANGE, reason, wave))
    return Plan(env=env, date=date, steps=tuple(steps), waves=tuple(tuple(w) for w in waves))


def render_table(plan: Plan) -> str:
    """The plan as a fixed-width table: service, app id, current, target, why."""
    header = ("SERVICE", "APP", "CURRENT", "TARGET", "WHY")
    rows = [header] + [
        (s.service, s.app_id or "-", s.current or "-", (s.target or "-") if s.action != NO_RELEASE else "-", s.reason)
        for s in plan.steps
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip() for row in rows]
    changes = len(plan.changes())
    lines.append(f"{changes} of {len(plan.steps)} services change" + (f" (rollback to {plan.date})" if plan.date else ""))
    return "\n".join(lines)


def plan_json(plan: Plan) -> dict[str, object]:
    return {
        "env": plan.env,
        "date": plan.date,
        "changes": len(plan.changes()),
        "services": [
            {"service": s.service, "app_id": s.app_id, "current": s.current, "target": s.target,
             "action": s.action, "reason": s.reason, "wave": s.wave,
             "tag": s.release.tag if s.release else None}
            for s in plan.steps
        ],
    }
