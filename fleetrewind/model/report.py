"""The run report as a typed value: what every service went through, and how the run ended.

Built once, by :func:`fleetrewind.rollout.outcomes.build_report`; read as attributes by the use
case, the JUnit writer and Slack; turned into JSON only where it leaves the process (the
``report-<stamp>.json`` file, ``--json`` on stdout). The JSON shape is described in docs/how-it-works.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Callable

from .checks import Check
from .states import BAD_STATUSES, FailureClass, State, Status

REPORT_FORMAT = 1
JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def undo_command(snapshot: str, *, force: bool) -> str:
    """The one spelling of the command that puts a snapshot back (the report, stdout, Slack, status)."""
    return f"rollback.py undo --snapshot={snapshot}" + (" --force" if force else "")


def _opt(fn: Callable[[str], str], value: str | None) -> str | None:
    return fn(value) if value is not None else None


@dataclass(frozen=True)
class Outcome:
    """What happened to one service. A value: the executor replaces a service's outcome as the run goes on
    (from its threads, one service each), and the report holds the outcomes as they were when the run ended."""

    service: str
    app_id: str | None
    from_image: str | None
    to_image: str | None
    action: str
    reason: str
    status: Status = Status.NOT_STARTED
    deployment_id: str | None = None
    seconds: float | None = None
    error: str | None = None
    failure_class: FailureClass | None = None
    stuck_reason: str | None = None  # why its deployment waited (rollout/stuck.py)
    verdict: str | None = None  # what served: the plan's verdict on its target's version (model/evidence.py)
    version: str | None = None  # the Marathon version the tool saw running healthy (the journal's evidence)
    finished_at: str | None = None  # when the tool saw it done (ISO, UTC)

    def map_text(self, fn: Callable[[str], str]) -> Outcome:
        return replace(self, service=fn(self.service), app_id=_opt(fn, self.app_id),
                       from_image=_opt(fn, self.from_image), to_image=_opt(fn, self.to_image), action=fn(self.action),
                       reason=fn(self.reason), deployment_id=_opt(fn, self.deployment_id), error=_opt(fn, self.error),
                       stuck_reason=_opt(fn, self.stuck_reason))

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "service": self.service, "app_id": self.app_id, "action": self.action, "reason": self.reason,
            "status": str(self.status), "deployment_id": self.deployment_id, "seconds": self.seconds,
            "error": self.error, "failure_class": str(self.failure_class) if self.failure_class else None,
            "from": self.from_image, "to": self.to_image, "stuck_reason": self.stuck_reason,
            "verdict": self.verdict,
        }


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Counts that agree with the exit code: a run that failed and was put back counts its failures,
    and its services show as rolled back, not changed."""

    changed: int = 0      # on their new target now
    failed: int = 0       # failed, interrupted, or failed and then rolled back
    unchanged: int = 0
    skipped: int = 0
    rolled_back: int = 0  # put back on their image from before the run

    def as_dict(self) -> dict[str, JSONValue]:
        return {"changed": self.changed, "failed": self.failed, "unchanged": self.unchanged, "skipped": self.skipped,
                "rolled_back": self.rolled_back}

    def line(self) -> str:
        """``1 changed, 1 failed, 2 rolled back, 0 unchanged, 0 skipped`` (rolled back only when some were)."""
        back = f"{self.rolled_back} rolled back, " if self.rolled_back else ""
        return f"{self.changed} changed, {self.failed} failed, {back}{self.unchanged} unchanged, {self.skipped} skipped"


@dataclass(frozen=True, kw_only=True)
class ScopeReport:
    """Which services the run could touch (``--only``, ``--exclude``, ``pinned``), and why the others not."""

    in_scope: tuple[str, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()  # (service, why it was left out), in fleet order
    only: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    pinned: tuple[tuple[str, str], ...] = ()  # (service, reason)

    def line(self) -> str | None:
        """``in scope: api; left out: web (named in --exclude)``; None when nothing was left out."""
        if not self.excluded:
            return None
        left = ", ".join(f"{service} ({why})" for service, why in self.excluded)
        return f"in scope: {', '.join(self.in_scope) or 'none'}; left out: {left}"

    def map_text(self, fn: Callable[[str], str]) -> ScopeReport:
        return replace(self, excluded=tuple((s, fn(why)) for s, why in self.excluded),
                       pinned=tuple((s, fn(why)) for s, why in self.pinned))

    def as_dict(self) -> dict[str, JSONValue]:
        return {"only": list(self.only) if self.only is not None else None, "exclude": list(self.exclude),
                "pinned": {s: why for s, why in self.pinned}, "in_scope": list(self.in_scope),
                "excluded": [{"service": s, "reason": why} for s, why in self.excluded]}


@dataclass(frozen=True, kw_only=True)
class Report:
    """``report-<stamp>.json`` as a value."""

    command: str
    env: str
    date: str | None
    actor: str
    build_url: str | None
    marathon: str
    started_at: str
    finished_at: str
    seconds: float
    state: State
    exit_code: int
    snapshot: str | None
    states: tuple[State, ...] = ()
    services: tuple[Outcome, ...] = ()  # copies: the run's own outcomes cannot change them
    summary: Summary = field(default_factory=Summary)
    scope: ScopeReport = field(default_factory=ScopeReport)
    checks: tuple[Check, ...] = ()      # what Marathon's history said about the plan
    format: int = REPORT_FORMAT

    @property
    def stuck(self) -> bool:
        """A service may still have a deployment in flight: an undo must override it (--force)."""
        return any(s.status in BAD_STATUSES for s in self.services)

    def failed_services(self) -> list[Outcome]:
        return [s for s in self.services if s.status in BAD_STATUSES]

    def reason(self) -> str:
        """A failed run's last line: how it ended and which services failed, with why."""
        bad = [s for s in self.services
               if s.status in BAD_STATUSES or (s.status == Status.ROLLED_BACK and s.failure_class is not None)]
        shown = [f"{s.service} {s.failure_class or s.status}" + (f" ({_cut(s.error, 160)})" if s.error else "")
                 for s in bad[:5]]
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        return f"{self.command} ended {self.state}: " + ("; ".join(shown) + more if shown else "no service failed")

    @property
    def touched(self) -> bool:
        """Some deployment of this run was started: Marathon may differ from the snapshot."""
        return any(s.deployment_id or s.status in (Status.SUCCEEDED, Status.ROLLED_BACK, Status.ROLLBACK_FAILED)
                   for s in self.services if s.action == "change")

    @property
    def undo(self) -> str | None:
        """The one command that puts back what this run changed (None when it changed nothing);
        ``--force`` when a failed deployment may still be in flight."""
        if not self.snapshot or not self.touched:
            return None
        return undo_command(self.snapshot, force=self.stuck)

    def map_text(self, fn: Callable[[str], str]) -> Report:
        """A copy with ``fn`` applied to every free-text value (Slack redacts secrets this way)."""
        return replace(self, command=fn(self.command), env=fn(self.env), date=_opt(fn, self.date),
                       actor=fn(self.actor), build_url=_opt(fn, self.build_url), marathon=fn(self.marathon),
                       snapshot=_opt(fn, self.snapshot), services=tuple(s.map_text(fn) for s in self.services),
                       scope=self.scope.map_text(fn),
                       checks=tuple(Check(fn(c.service), c.kind, fn(c.detail)) for c in self.checks))

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "format": self.format, "command": self.command, "env": self.env, "date": self.date, "actor": self.actor,
            "build_url": self.build_url, "marathon": self.marathon, "started_at": self.started_at,
            "finished_at": self.finished_at, "seconds": self.seconds, "state": str(self.state),
            "exit_code": self.exit_code, "snapshot": self.snapshot, "states": [str(s) for s in self.states],
            "services": [s.as_dict() for s in self.services], "summary": self.summary.as_dict(),
            "scope": self.scope.as_dict(),
            "checks": [{**c.as_dict()} for c in self.checks],
            "undo": self.undo,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)
