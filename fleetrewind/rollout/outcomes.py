"""What happened to each service (:class:`Outcome`), and the report built from it (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Mapping, Sequence

from ..errors import EXIT_FAILED, EXIT_REFUSED, EXIT_UNREACHABLE
from ..model.journal import RunEntry, Tried
from ..model.report import Outcome, Report, ScopeReport, Summary
from ..model.checks import Check
from ..model.plan import CHANGE, EXCLUDED, LEFT, NO_GOOD_VERSION, NO_HISTORY, NO_RELEASE, UNCHANGED, Plan
from ..model.states import BAD_STATUSES, GOOD_STATES, FailureClass, State, Status
from ..secret import redact

__all__ = ["Outcome", "build_report", "failure_code", "journal_entry", "outcomes_for", "scope_of", "summarise",
           "tried_of"]


_INITIAL = {CHANGE: Status.NOT_STARTED, UNCHANGED: Status.UNCHANGED, NO_RELEASE: Status.SKIPPED,
            NO_HISTORY: Status.SKIPPED, NO_GOOD_VERSION: Status.SKIPPED}


def outcomes_for(plan: Plan) -> dict[str, Outcome]:
    return {
        s.service: Outcome(s.service, s.app_id, s.current, s.target if s.action not in LEFT else None, s.action,
                           s.reason, _INITIAL[s.action], verdict=str(s.verdict) if s.verdict else None)
        for s in plan.steps if s.action != EXCLUDED  # never touched: the report's scope names them
    }


def scope_of(plan: Plan) -> ScopeReport:
    """The report's view of the plan's scope: the services in it, and why each other one is not."""
    return ScopeReport(in_scope=tuple(plan.in_scope()), excluded=tuple((s.service, s.reason) for s in plan.excluded()),
                       only=plan.scope.only, exclude=plan.scope.exclude, pinned=tuple(plan.scope.pinned.items()))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def summarise(outcomes: Sequence[Outcome]) -> Summary:
    """The counts of the report: a service that failed and was then rolled back is a failure (the
    run exits 1), and every rolled-back one is counted as such, not as changed."""
    return Summary(
        changed=sum(1 for o in outcomes if o.status == Status.SUCCEEDED and o.action == CHANGE),
        failed=sum(1 for o in outcomes if o.status in BAD_STATUSES
                   or (o.status == Status.ROLLED_BACK and o.failure_class is not None)),
        unchanged=sum(1 for o in outcomes if o.status == Status.UNCHANGED),
        skipped=sum(1 for o in outcomes if o.status in (Status.SKIPPED, Status.NOT_STARTED)),
        rolled_back=sum(1 for o in outcomes if o.status == Status.ROLLED_BACK),
    )


def build_report(*, command: str, env: str, date: str | None, actor: str, build_url: str | None, marathon: str,
                 started: dt.datetime, finished: dt.datetime, state: State, exit_code: int, snapshot: str | None,
                 outcomes: Sequence[Outcome], states: Sequence[State] = (),
                 scope: ScopeReport | None = None, checks: Sequence[Check] = ()) -> Report:
    """The one place a :class:`Report` is made. Its free text (errors Marathon or a registry sent,
    which may echo an app's env) is redacted here, field by field, so the report, JUnit and Slack
    are built from a value that holds no secret."""
    services = tuple(outcomes)
    return Report(command=command, env=env, date=date, actor=actor, build_url=build_url, marathon=marathon,
                  started_at=_iso(started), finished_at=_iso(finished),
                  seconds=round((finished - started).total_seconds(), 3), state=state, exit_code=exit_code,
                  snapshot=snapshot, states=tuple(states), services=services, summary=summarise(services),
                  scope=scope or ScopeReport(in_scope=tuple(o.service for o in outcomes)),
                  checks=tuple(checks)).map_text(redact)


def journal_entry(report: Report, outcomes: Sequence[Outcome], *, left_alone: Mapping[str, str], run_id: str,
                  report_path: str) -> RunEntry:
    """The journal's entry of a finished run: the fleet it left when that was good, and what it tried."""
    final = {**left_alone,
             **{o.service: (o.to_image if o.status == Status.SUCCEEDED else o.from_image) for o in outcomes}}
    return RunEntry(at=report.finished_at, command=report.command, env=report.env, date=report.date or "",
                    actor=report.actor, state=str(report.state), report=report_path,
                    images={s: i for s, i in final.items() if i} if report.state in GOOD_STATES else {},
                    run_id=run_id, snapshot=report.snapshot or "",
                    # what it tried and how that ended: evidence for the ran rule's timeline
                    started_at=report.started_at,
                    tried={o.service: tried_of(o) for o in outcomes if o.action == CHANGE and o.to_image})


def failure_code(failed: list[Outcome]) -> int:
    classes = {o.failure_class for o in failed}
    if classes == {FailureClass.LOCKED}:
        return EXIT_REFUSED
    if classes == {FailureClass.UNREACHABLE}:
        return EXIT_UNREACHABLE
    return EXIT_FAILED


def tried_of(outcome: Outcome) -> Tried:
    """The journal's evidence of one service: the image and how it ended; when it ended well, the Marathon
    version seen running healthy, when, and how long the tool watched it (docs/how-it-works.md, "Three witnesses")."""
    assert outcome.to_image
    if outcome.status == Status.SUCCEEDED:
        return Tried(image=outcome.to_image, status=str(outcome.status), version=outcome.version,
                     finished_at=outcome.finished_at, seconds=outcome.seconds)
    return Tried(image=outcome.to_image, status=str(outcome.status))
