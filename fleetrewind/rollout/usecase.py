"""The shared use case behind run, undo and deploy: lock, snapshot, execute, judge, revert, report.

A rollback and a deployment are the same machinery with different targets. States, in order:
RUNNING -> SUCCEEDED, or RUNNING -> FAILED [-> ROLLING_BACK -> ROLLBACK_COMPLETED | ROLLBACK_FAILED];
INTERRUPTED when SIGINT/SIGTERM stopped it; NOTHING_TO_DO when every service already runs its target.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import os

from ..console import Console
from ..model.lockrecord import RunInFlight, new_record
from ..state.store import Held, StateStore, utc_text
from ..errors import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, RefusedError, RollbackError, UsageError
from .execute import Executor, TimeHooks, Verify
from ..platform.fleet import FleetState
from ..platform.protocol import Platform
from .events import Listener, Recorder
from .outcomes import build_report, failure_code, journal_entry, outcomes_for, scope_of
from ..model.checks import Check
from ..model.plan import CHANGE, FailurePolicy, Plan
from ..model.report import Outcome, Report, ScopeReport
from ..instants import stamp_now
from ..platform.slots import DeploymentSlots
from .revert import plan_back, refuse_without_docker, settle, whole
from .signals import stop_on_signals
from .snapshot import write_snapshot
from ..model.states import FailureClass, State, Status


@dataclass(frozen=True, kw_only=True)
class RolloutOptions:
    """What a rollout needs to know of the command that starts it (built by ``factory.Clients.rollout``)."""

    command: str  # run, undo or deploy: the word in the lock, snapshot, report, ledger and Slack
    env: str
    dump: Path
    lock_dir: Path  # one of the folders a report falls back to
    actor: str
    build_url: str | None
    marathon: str  # the URL as reports may show it (no credentials)
    timeout: float
    parallel: int
    force: bool
    max_deployments: int = 100  # config max_deployments: how many deployments Marathon admits at once
    events: bool = False  # config events: follow Marathon's event stream for deployment ends
    announce_states: bool = False  # tell the notifier about every state change, not only start and end
    policy: FailurePolicy = FailurePolicy.STOP  # what a failure does: stop | continue | revert
    revert_on: frozenset[FailureClass] | None = None  # revert only on these failure classes (None: on any)

from ..atomic import check_writable

log = logging.getLogger(__name__)
# The signals that end a run's terminal session or job: each is handled like a Jenkins abort.


@dataclass
class Result:
    state: State
    exit_code: int
    outcomes: list[Outcome]
    report: Report
    states: list[State] = field(default_factory=list)


class Rollout:
    def __init__(self, options: RolloutOptions, console: Console, platform: Platform, notifier: Listener,
                 recorder: Recorder, *, store: StateStore, date: str | None = None, verify: Verify | None = None,
                 undoes: str | None = None, time_hooks: TimeHooks = TimeHooks()) -> None:
        self.options = options
        self.time_hooks = time_hooks
        self.store = store
        self.undoes = undoes  # undo: the snapshot it puts back (an interrupted run of it is thereby undone)
        self.held: Held | None = None
        self.run_id = ""
        self.console = console
        self.platform = platform
        self.notifier = notifier
        self.recorder = recorder
        self.command = options.command
        self.date = date
        self.verify = verify
        self.stop = threading.Event()
        self.states: list[State] = []
        self.scope: ScopeReport | None = None
        self.left_alone: dict[str, str] = {}  # out of scope: what they ran, untouched, is part of the fleet
        # one count of Marathon's deployment slots for the run and its rollback (the cap a 403 taught stays)
        self.slots = DeploymentSlots(options.max_deployments)
        self.checks: tuple[Check, ...] = ()

    def _state(self, state: State, detail: str = "") -> None:
        self.states.append(state)
        self.console.info(f"state: {state}{' - ' + detail if detail else ''}")
        if self.options.announce_states:
            self.notifier.state(command=self.command, env=self.options.env, state=state, detail=detail)

    def _executor(self, *, force: bool, verify: Verify | None) -> Executor:
        return Executor(self.platform, timeout=self.options.timeout, parallel=self.options.parallel, force=force,
                        report=self.console.info, notifier=self.notifier, stop=self.stop, verify=verify,
                        slots=self.slots, events=self.options.events,
                        gate=self.held.may_start if self.held else None,
                        fence=self.held.still_proved if self.held else None, clock=self.time_hooks.clock,
                        wait=self.time_hooks.wait, now=self.time_hooks.now)

    def execute(self, plan: Plan, fleet: FleetState, *, recheck: Callable[[], FleetState] | None = None) -> Result:
        """Carry ``plan`` out, failures handled as the options' ``policy`` and ``revert_on`` say.
        ``recheck`` (run --plan) reads the fleet again once the lock is held, and refuses a stale plan.

        From the snapshot on, every way out (a bug, a full disk, an odd Marathon answer, a signal)
        goes through the one handler below and then ``_finish``: the report first, wherever it can be written.
        """
        started = dt.datetime.now(dt.timezone.utc)
        self.scope = scope_of(plan)
        self.left_alone = {s.service: s.current for s in plan.excluded() if s.current}
        check_writable(self.options.dump, "--dump")
        stamp = stamp_now()  # a file whose name is taken gets -2, -3... (atomic.create_text)
        env = plan.env
        self.checks = plan.checks
        outcomes = outcomes_for(plan)
        if not plan.changes():
            return self._finish(stamp, started, State.NOTHING_TO_DO, EXIT_OK, outcomes, None)
        refuse_without_docker(plan, fleet, self.platform)
        self.run_id = f"{stamp}-{os.getpid()}"
        record = new_record(command=self.command, run_id=self.run_id, user=self.options.actor)
        with self.store.lock(env, record, force=self.options.force, warn=self.console.warn) as held:
            self.held = held
            if recheck is not None:
                fleet = recheck()
            self._refuse_in_flight(plan, fleet)
            self._refuse_interrupted(env)
            # a SIGTERM or SIGHUP from here on (even while Slack is slow to answer) ends with a report
            with stop_on_signals(self.stop, self.console):
                try:
                    snapshot_path = write_snapshot(self.store, stamp, env=env, command=self.command,
                                                   marathon=self.options.marathon, app_ids=fleet.app_ids,
                                                   images=fleet.images, versions=fleet.versions,
                                                   whole=whole(plan))
                except OSError as exc:
                    raise UsageError(f"cannot write the snapshot to --dump {self.options.dump}: {exc.strerror}; "
                                     "nothing was changed") from None
                self.console.info(f"snapshot of {len(fleet.app_ids)} apps written to {snapshot_path}")
                stamp = Path(snapshot_path).name.removeprefix("snapshot-").removesuffix(".json")  # its -2 too
                # before the first change: a run that vanishes from here on is named by the next one
                self.store.begin_run(RunInFlight(run_id=self.run_id, env=env, host=record.host, pid=record.pid,
                                                 user=record.user, command=self.command, since=utc_text(record.since),
                                                 snapshot=snapshot_path))
                try:
                    state, code = self._carry_out(plan, fleet, outcomes, self.options.policy, self.options.revert_on)
                except BaseException as exc:  # after the first change nothing ends without a report
                    state, code = self._stopped_by(exc, outcomes)
                result = self._finish(stamp, started, state, code, outcomes, snapshot_path)
                self._end_run(env)
                return result

    def _carry_out(self, plan: Plan, fleet: FleetState, outcomes: dict[str, Outcome], policy: FailurePolicy,
                   revert_on: frozenset[FailureClass] | None) -> tuple[State, int]:
        self.notifier.started(command=self.command, env=plan.env, date=self.date, actor=self.options.actor,
                              changes=len(plan.changes()), total=len(plan.steps),
                              checks=[f"{c.kind} {c.service}: {c.detail}" for c in plan.checks], scope=self.scope)
        self._state(State.RUNNING, f"{len(plan.changes())} of {len(plan.steps)} services change")
        first_policy = FailurePolicy.STOP if policy == FailurePolicy.REVERT else policy
        ok = self._executor(force=self.options.force, verify=self.verify).run(
            plan, fleet.apps, outcomes, policy=first_policy)
        lost = self.held.lost() if self.held else None
        if lost:  # no rollback either: it would start deployments without the lock
            self.console.error(f"{lost}: started no further deployment, watched those in flight")
            self._state(State.FAILED, lost)
            return State.FAILED, EXIT_UNREACHABLE
        if ok:
            self._state(State.SUCCEEDED)
            return State.SUCCEEDED, EXIT_OK
        if self.stop.is_set():
            self._state(State.INTERRUPTED)
            return State.INTERRUPTED, EXIT_FAILED
        failed = [o for o in outcomes.values() if o.status == Status.FAILED]
        classes = {o.failure_class for o in failed}
        self._state(State.FAILED, "; ".join(f"{o.service}: {o.failure_class}" for o in failed))
        if policy == FailurePolicy.REVERT and (revert_on is None or any(c in revert_on for c in classes)):
            return self._revert(plan, fleet, outcomes)
        if policy == FailurePolicy.REVERT:
            self.console.warn(f"no automatic rollback: the failure ({', '.join(sorted(map(str, classes)))}) "
                              "is not one a rollback can fix (see rollback_on in the config)")
        return State.FAILED, failure_code(failed)

    def _stopped_by(self, exc: BaseException, outcomes: dict[str, Outcome]) -> tuple[State, int]:
        """What the report says when the run ended by an exception after the snapshot."""
        self.stop.set()
        if isinstance(exc, RollbackError):
            cause = str(exc)
        elif isinstance(exc, KeyboardInterrupt):
            cause = "interrupted"
        else:
            cause = f"internal error: {type(exc).__name__}: {exc}"
            log.debug("internal error after the first change", exc_info=exc)  # the traceback, with --verbose
        for service, outcome in outcomes.items():
            if outcome.status == Status.NOT_STARTED and outcome.deployment_id:
                outcomes[service] = replace(outcome, status=Status.INTERRUPTED,
                                            error=f"the run stopped while its deployment was in flight: {cause}")
        self.console.error(f"the run stopped after changes began ({cause}); writing the report")
        state = State.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else State.FAILED
        self._state(state, cause)
        return state, EXIT_FAILED

    def _refuse_interrupted(self, env: str) -> None:
        """A run of ``env`` that began changing it and never wrote its report: refuse until it is undone or
        acknowledged with --force (its lock is free: we hold it, so that run is gone)."""
        gone = self.store.in_flight(env)
        if gone is None:
            return
        if self.undoes and Path(self.undoes).name == Path(gone.snapshot).name:
            self.console.warn(f"undoing the {gone.line().split(';')[0]}")
        elif self.options.force:
            self.console.warn(f"{gone.line()} (acknowledged with --force)")
        else:
            raise RefusedError(f"{gone.line()}; undo it, or pass --force to acknowledge it and go on "
                               f"(store: {self.store.describe()})")

    def _end_run(self, env: str) -> None:
        try:
            self.store.end_run(env, self.run_id)
        except (OSError, RollbackError) as exc:
            self.console.warn(f"could not clear the run-in-flight record in {self.store.describe()} ({exc}); "
                              "the next run will name this one as interrupted")

    def _refuse_in_flight(self, plan: Plan, fleet: FleetState) -> None:
        if self.options.force:
            return
        busy = []
        for step in plan.changes():
            deps = self.platform.busy(fleet.apps[step.service])
            if deps:
                busy.append(f"{step.app_id} ({', '.join(deps)})")
        if busy:
            raise RefusedError(f"a deployment is already in flight for {'; '.join(busy)}; wait for it to finish "
                               "or pass --force to override it")

    def _revert(self, plan: Plan, fleet: FleetState, outcomes: dict[str, Outcome]) -> tuple[State, int]:
        """Put every service this run touched back on its snapshot image (forced: failed ones are stuck)."""
        self._state(State.ROLLING_BACK)
        touched = {o.service: o.from_image for o in outcomes.values()
                   if o.action == CHANGE and o.status in (Status.SUCCEEDED, Status.FAILED, Status.INTERRUPTED) and o.from_image}
        try:
            fresh = self.platform.apps({s: fleet.app_ids[s] for s in touched})
        except RollbackError as err:
            # Marathon went away as the rollback began: say where every service is, in the report.
            for service in touched:
                outcomes[service] = replace(outcomes[service], status=Status.ROLLBACK_FAILED,
                                            error=f"{outcomes[service].error or ''}; rollback not started: {err}".lstrip("; "))
            self._state(State.ROLLBACK_FAILED, str(err))
            return State.ROLLBACK_FAILED, EXIT_FAILED
        back = plan_back(plan, fleet, fresh, touched)
        back_outcomes = outcomes_for(back)
        self._executor(force=True, verify=None).run(back, fresh.apps, back_outcomes, policy=FailurePolicy.CONTINUE)
        state = State.ROLLBACK_COMPLETED if settle(outcomes, back_outcomes) else State.ROLLBACK_FAILED
        self._state(state)
        return state, EXIT_FAILED

    def _finish(self, stamp: str, started: dt.datetime, state: State, code: int, outcomes: dict[str, Outcome],
                snapshot_path: str | None) -> Result:
        """Report first (to a fallback folder if --dump fails), then JUnit, ledger, Slack; say where."""
        ordered = list(outcomes.values())
        report = build_report(command=self.command, env=self.options.env, date=self.date,
                              actor=self.options.actor, build_url=self.options.build_url,
                              marathon=self.options.marathon,
                              started=started, finished=dt.datetime.now(dt.timezone.utc), state=state, exit_code=code,
                              snapshot=snapshot_path, outcomes=ordered, states=self.states,
                              scope=self.scope, checks=self.checks)
        report_path = self.recorder.record(report, stamp)
        entry = journal_entry(report, ordered, left_alone=self.left_alone, run_id=self.run_id,
                              report_path=str(report_path) if report_path else "")
        try:
            self.store.append(entry)
        except OSError as exc:
            self.console.warn(f"could not append to the ledger: {exc.strerror}")
        except RollbackError as exc:  # the store went away: the report (written above) says it all
            self.console.warn(f"could not append to the journal in {self.store.describe()}: {exc}"
                              + (f"; the report is at {report_path}" if report_path else ""))

        try:
            self.notifier.finished(report)
        except Exception as exc:  # Slack is best effort; the report is already written
            self.console.warn(f"Slack notification failed ({type(exc).__name__}); the rollback itself is not affected")
        if report_path:
            self.console.info(f"report written to {report_path}")
        return Result(state=state, exit_code=code, outcomes=ordered, report=report, states=list(self.states))
