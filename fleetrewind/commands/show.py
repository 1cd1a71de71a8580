"""What plan and run share: the request each makes of its asks, a plan on stdout (table or --json) and the
release matrix beside it, the one line of an empty selection."""

from __future__ import annotations

from pathlib import Path

from ..console import Console
from ..model.plan import GOOD, RAN, Plan
from ..model.report import Summary
from ..model.scope import Selection
from ..model.states import State
from ..planning.build import plan_json, render_table
from ..planning.make import Approved, LastGood, PlanRequest
from ..planning.scope import nothing_left
from ..releases.index import Index
from ..report.matrix import write_matrix
from ..settings.commands import Asks


def plan_request(asks: Asks, *, target: LastGood | Approved | None = None, confirm: bool = False) -> PlanRequest:
    """The plan ``asks`` describe: rollback.json's date (or --at moment) unless ``target`` names another."""
    return PlanRequest(env=asks.env, target=target, date=asks.date or "", moment=asks.at, rule=asks.rule,
                       scope=asks.scope, strict=asks.strict, with_config=asks.with_config, pin_digest=asks.pin_digest,
                       waves=asks.waves, min_soak=asks.min_soak, confirm=confirm)


def say_nothing_to_do(console: Console, plan: Plan, selection: Selection, *, as_json: bool) -> int:
    """An empty selection: one line (or a JSON object), exit 0, nothing read or written.

    The JSON is a plan like any other (every service excluded, with why; no checks: no history
    was read), plus the state, the message and an empty summary.
    """
    message = nothing_left(plan.scope, selection)
    if as_json:
        console.json({**plan_json(plan), "state": str(State.NOTHING_TO_DO), "message": message,
                      "summary": Summary().as_dict()})
    else:
        console.result(message)
    return 0


def show_plan(console: Console, plan: Plan, *, as_json: bool, dump: Path, index: Index | None) -> None:
    """The plan on stdout (table or --json), and the release matrix of the date when there is an index."""
    if as_json:
        console.json(plan_json(plan))
    else:
        console.result(render_table(plan))
    if index is not None:
        targets = {s.service: s.release for s in plan.steps} if plan.rule in (RAN, GOOD) else None
        verdicts = {s.service: str(s.verdict) for s in plan.steps if s.verdict is not None}
        write_matrix(dump, index, date=plan.date, targets=targets, rule=plan.rule, checks=plan.checks,
                     verdicts=verdicts)
