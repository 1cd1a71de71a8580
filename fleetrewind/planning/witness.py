"""The plan of a date under either rule, with what Marathon's history says about it (the checks).

History is read wherever Marathon serves it; an app whose history cannot be read gets a
history-short check, and only ``--with-config`` (which needs the stored definition) refuses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from ..errors import RefusedError, UsageError
from ..model.checks import STRICT_KINDS
from ..model.evidence import DEFAULT_MIN_SOAK, Deployed, Observation
from ..model.plan import GOOD, NO_HISTORY, RAN, Plan, Rule
from ..model.scope import Scope, Selection
from ..platform.fleet import FleetState, History
from ..platform.protocol import Chosen
from ..platform.timeline import Timeline
from ..releases.index import Index
from ..state.store import StateStore
from .build import LeftOut, order_waves, plan_for_date, scoped
from .checks import day_end, run_checks
from .ranrule import moment_text, plan_ran
from .served import plan_good, verdict_checks, with_verdicts
from .verdicts import judge
from .witnesses import deployed_from, gather, observations_from


def plan_to_date(index: Index, fleet: FleetState, date: str, *, waves: Sequence[Sequence[str]], pin_digest: bool,
                 scope: Scope, selection: Selection | None = None, left_out: LeftOut | None = None) -> Plan:
    """The selected services back on their images of ``date``, in the configured waves."""
    services = selection.selected if selection else index.services
    plan = plan_for_date(index, date, current=fleet.images, app_ids=fleet.app_ids, problems=fleet.problems,
                         waves=order_waves(services, waves), pin_digest=pin_digest)
    return scoped(plan, selection, scope, left_out=left_out) if selection else plan


def chosen_versions(plan: Plan, history: History) -> list[Chosen]:
    """Every changing target the ran or good rule took from a stored version the platform did not just read
    (a cached one): the platform confirms each before a change (docs/how-it-works.md, "The version cache")."""
    if plan.rule not in (RAN, GOOD) or plan.at is None:
        return []
    found = []
    for step in plan.changes():
        timeline = history.timelines.get(step.service)
        version = step.restore_version or (_chosen_version(timeline, step.target, plan.at) if timeline else None)
        current = history.current.get(step.service)
        if not version or not step.app_id or not step.target or (current is not None and current.version == version):
            continue  # the app's current definition was read live
        found.append(Chosen(step.service, step.app_id, version, step.target))
    return found


def _chosen_version(timeline: Timeline, target: str | None, moment: dt.datetime) -> str | None:
    """The stored version whose definition made ``target`` the target: held at the moment (ran), else the
    newest version of that image held by then (good)."""
    held = timeline.held_at(moment) if timeline.reaches(moment) else timeline.inferred_at(moment)
    if held is not None and held.definition.image == target:
        return held.definition.version
    spans = [i for i in timeline.intervals if i.definition.image == target and i.start <= moment]
    return spans[-1].definition.version if spans else None


def plan_by_rule(index: Index, fleet: FleetState, date: str, history: History, *, rule: Rule, with_config: bool,
                 waves: Sequence[Sequence[str]], pin_digest: bool, scope: Scope, selection: Selection | None = None,
                 left_out: LeftOut | None = None, now: dt.datetime | None = None, at: dt.datetime | None = None,
                 min_soak: float = DEFAULT_MIN_SOAK, evidence: Evidence | None = None) -> Plan:
    """The plan of ``date`` (or of the moment ``at``) under ``rule``, scoped, with its checks and verdicts."""
    now = now or dt.datetime.now(dt.timezone.utc)
    evidence = evidence or Evidence()
    at = (at or day_end(date, index.tz)).astimezone(index.tz)  # the moment, shown in the index's zone
    judgements = {service: judge(timeline, gather(service, evidence.live.get(service),
                                                  deployed=evidence.deployed.get(service, ()),
                                                  observations=evidence.observations.get(service, ()), now=now),
                                 now=now, tz=index.tz, min_soak=min_soak)
                  for service, timeline in history.timelines.items()}
    services = selection.selected if selection else index.services
    if rule == RAN:
        plan = plan_ran(index, date, history.timelines, services=services, current=fleet.images,
                        current_defs=history.current, app_ids=fleet.app_ids, waves=order_waves(services, waves),
                        with_config=with_config, problems=fleet.problems, at=at)
        plan = scoped(plan, selection, scope, left_out=left_out) if selection else plan
    elif rule == GOOD:
        plan = plan_good(index, date, history.timelines, judgements, services=services, current=fleet.images,
                         app_ids=fleet.app_ids, waves=order_waves(services, waves), problems=fleet.problems, at=at)
        plan = scoped(plan, selection, scope, left_out=left_out) if selection else plan
    else:
        plan = plan_to_date(index, fleet, date, waves=waves, pin_digest=pin_digest, scope=scope,
                            selection=selection, left_out=left_out)
    plan = with_verdicts(replace(plan, rule=rule, at=at), judgements, tz=index.tz)
    checks = run_checks(plan, history.timelines, history.current, tz=index.tz, now=now, with_config=with_config)
    return replace(plan, checks=checks + verdict_checks(plan, judgements, evidence.deployed, tz=index.tz))


@dataclass(frozen=True)
class Evidence:
    """What the journal holds about the fleet (this tool's deployments, the observations of get), and what
    the platform observes of each app now (``live``)."""

    deployed: Mapping[str, Sequence[Deployed]] = field(default_factory=dict)
    observations: Mapping[str, Sequence[Observation]] = field(default_factory=dict)
    live: Mapping[str, Observation] = field(default_factory=dict)


def read_evidence(store: StateStore, env: str) -> Evidence:
    """The journal's evidence for ``env`` (best effort: no journal is no evidence)."""
    try:
        entries = store.entries(env)
    except UsageError:
        entries = []  # an unreadable ledger is no evidence (run --to=last-good says why)
    return Evidence(deployed=deployed_from(entries, env), observations=observations_from(entries, env))


def refuse(plan: Plan, *, strict: bool, with_config: bool) -> None:
    """Before any change: --with-config needs history at the date; --strict refuses never-ran/never-together."""
    if with_config:
        short = [s for s in plan.steps if s.action == NO_HISTORY]
        if short:
            when = moment_text(plan.date or "", plan.at, plan.at.tzinfo or dt.timezone.utc) if plan.at \
                else f"the end of {plan.date}"
            raise UsageError(f"--with-config needs Marathon's history at {when}, and it does not "
                             f"reach it for {', '.join(s.service for s in short)} ({short[0].reason}); "
                             "run without --with-config to roll back images only")
    if strict:
        bad = [c for c in plan.checks if c.kind in STRICT_KINDS]
        if bad:
            raise RefusedError(f"--strict: {bad[0].kind} for {bad[0].service}: {bad[0].detail}"
                               + (f" (and {len(bad) - 1} more check(s))" if len(bad) > 1 else "")
                               + "; nothing was changed")
