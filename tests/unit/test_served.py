"""The third witness in a plan (planning/served.py): which checks each verdict raises under each rule. No I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from fleetrewind.model.evidence import Deployed, Evidence, Judgement, Source, Verdict
from fleetrewind.model.plan import CHANGE, GOOD, NO_GOOD_VERSION, RAN, BUILT, Plan, Rule, Step
from fleetrewind.planning.served import verdict_checks, with_verdicts

UTC = dt.timezone.utc
IMAGE = "registry.example.com/api:14-master"
AT = dt.datetime(2026, 11, 19, 23, 59, tzinfo=UTC)


def judged(verdict: Verdict, start: str = "2026-11-19T23:50:00", end: str | None = "2026-11-20T00:20:00",
           image: str = IMAGE) -> Judgement:
    evidence = (Evidence(Source.MARATHON, dt.datetime.fromisoformat(start).replace(tzinfo=UTC), "why"),)
    return Judgement(verdict, evidence, image, dt.datetime.fromisoformat(start).replace(tzinfo=UTC),
                     dt.datetime.fromisoformat(end).replace(tzinfo=UTC) if end else None)


def plan_of(rule: Rule, step: Step) -> Plan:
    return Plan(env="prod", date="2026-11-19", steps=(step,), rule=rule, at=AT)


TARGET = Step("api", "/ds/prod/shop/api", "registry.example.com/api:13-master", IMAGE, CHANGE, "why")
ROLLED_BACK = Deployed("api", IMAGE, "20261119T120000Z", AT - dt.timedelta(hours=12), AT - dt.timedelta(hours=11),
                       False, 600.0, True)

CASES = [
    ("ran: the held version failed", RAN, TARGET, Verdict.FAILED, (), {"never-healthy"}),
    ("ran: the held version was short-lived", RAN, TARGET, Verdict.SHORT_LIVED, (), {"short-lived"}),
    ("ran: healthy raises nothing", RAN, TARGET, Verdict.HEALTHY, (), set()),
    ("built: a target that failed when held", BUILT, TARGET, Verdict.FAILED, (), {"failed-before"}),
    ("built: unproven raises nothing", BUILT, TARGET, Verdict.UNPROVEN, (), set()),
    ("any rule: the tool rolled the image back", BUILT, TARGET, Verdict.UNPROVEN, (ROLLED_BACK,), {"failed-before"}),
    ("ran: rolled back and never healthy", RAN, TARGET, Verdict.FAILED, (ROLLED_BACK,),
     {"never-healthy", "failed-before"}),
]


@pytest.mark.parametrize("name, rule, step, verdict, deployed, kinds", CASES, ids=[c[0] for c in CASES])
def test_checks_per_rule(name: str, rule: Rule, step: Step, verdict: Verdict, deployed: tuple[Deployed, ...],
                         kinds: set[str]) -> None:
    judgements = {"api": (judged(verdict),)}
    plan = with_verdicts(plan_of(rule, step), judgements, tz=UTC)
    assert plan.steps[0].verdict == verdict
    checks = verdict_checks(plan, judgements, {"api": deployed}, tz=UTC)
    assert {str(c.kind) for c in checks} == kinds
    if "failed-before" in kinds and deployed:
        assert "rolled it back in run 20261119T120000Z at 2026-11-19 12:59" in \
            next(c.detail for c in checks if c.kind == "failed-before")


def test_good_unproven_and_no_good_version() -> None:
    unproven = Step("api", "/a", None, IMAGE, CHANGE, "why", verdict=Verdict.UNPROVEN)
    kinds = {str(c.kind) for c in verdict_checks(plan_of(GOOD, unproven), {}, {}, tz=UTC)}
    assert kinds == {"unproven"}
    none = Step("api", "/a", IMAGE, None, NO_GOOD_VERSION, "left", evidence="failed (...)")
    [check] = verdict_checks(plan_of(GOOD, none), {}, {}, tz=UTC)
    assert check.kind == "no-good-version" and "left as it is" in check.detail
