"""Carry a plan out through Marathon: waves, bounded parallelism, a deadline per wave, waiting.

A deployment is done when the app has no deployment in flight and runs ``instances`` tasks
of the new version, healthy where it has health checks. Marathon never fails a deployment by
itself (docs/how-it-works.md, "Waiting"), so the deadline and the judgement are ours; while it
waits the tool says why (rollout/stuck.py), and it never starts more deployments at once than
Marathon admits (rollout/slots.py).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Callable, Mapping

from ..errors import MarathonBusy, MarathonError, MarathonLocked, MarathonRejected, UnreachableError, WriteFenced
from ..model.plan import FailurePolicy, Plan, Step
from ..model.report import Outcome
from ..model.states import FailureClass, Status
from ..platform.fleet import App
from ..platform.protocol import Judgement, Platform, View, Watch
from ..platform.slots import DeploymentSlots
from .events import Listener

# A check run once a service is deployed (deploy's --health-url); returns an error or None.
Verify = Callable[[Step], "str | None"]
Clock = Callable[[], float]  # monotonic seconds
Wait = Callable[[float], object]  # pause up to that many seconds (returns early when stopped)
Now = Callable[[], dt.datetime]  # wall-clock time, for Marathon's timestamps (health grace, queue)

APP_EVERY = 5  # while a deployment is listed, read the app itself only every 5th poll (progress)
STUCK_AFTER = 5.0  # a deployment waiting this long is explained (launch queue, health timing)
DEFAULT_MAX_DEPLOYMENTS = 100  # Marathon's max_running_deployments default


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class TimeHooks:
    """The clock seam of a whole rollout (its run and its revert): tests pass a fake clock and wait."""

    clock: Clock = time.monotonic
    wait: Wait | None = None
    now: Now = _utc_now


class Executor:
    def __init__(self, platform: Platform, *, timeout: float, parallel: int, force: bool,
                 report: Callable[[str], None], notifier: Listener, stop: threading.Event,
                 verify: Verify | None = None, poll: float = 0.5, max_poll: float = 1.0,
                 max_deployments: int = DEFAULT_MAX_DEPLOYMENTS, slots: DeploymentSlots | None = None,
                 clock: Clock = time.monotonic, wait: Wait | None = None, now: Now = _utc_now,
                 stuck_after: float = STUCK_AFTER, events: bool = False,
                 gate: Callable[[], bool] | None = None, fence: Callable[[], bool] | None = None) -> None:
        # Polls of one app after its PUT: 0.5 s, then x1.5 up to max_poll (0.5, 1.25, 2.25, 3.25 s...);
        # the wave's background read of the deployments list (every ``poll``) wakes a service whose
        # deployment has left it, so an end is noticed within one read (bench/bench_run.py).
        self.platform = platform
        self.timeout = timeout
        self.parallel = parallel
        self.force = force
        self.report = report
        self.notifier = notifier
        self.stop = stop
        self.poll = poll
        self.max_poll = max_poll
        self.verify = verify
        self.slots = slots or DeploymentSlots(max_deployments)
        # The clock seam: tests pass a fake monotonic clock, wall clock and wait so that no test
        # depends on real time. An injected wait also paces the wait for a free deployment slot.
        self.clock = clock
        self.now = now
        self._wait: Wait = wait or stop.wait
        self._slot_wait: Wait = wait or self.slots.wait
        self._real_time = wait is None  # then a background read wakes waiters early (Watch.start)
        self.stuck_after = stuck_after
        self.events = events  # follow Marathon's event stream for deployment ends (falls back to polling)
        self._said: set[str] = set()
        # May one more deployment start? False once the environment's lock can no longer be proved held
        # (the state store's session was lost): what is in flight is still watched to its end.
        self.gate = gate
        self.fence = fence  # the same question without a network round, asked as each change is written
        self._said_lock = threading.Lock()

    def run(self, plan: Plan, apps: Mapping[str, App], outcomes: dict[str, Outcome], *,
            policy: FailurePolicy) -> bool:
        """Deploy every changing step; return True when all of them succeeded."""
        all_ok = True
        for number, wave in enumerate(plan.wave_steps(), start=1):
            if self.stop.is_set():
                break
            names = ", ".join(s.service for s in wave)
            self.report(f"wave {number}/{len(plan.wave_steps())}: {names} (deadline {self.timeout:.0f}s)")
            ok = self._run_wave(wave, apps, outcomes, policy)
            all_ok = all_ok and ok
            if not ok and policy != FailurePolicy.CONTINUE:
                break
        return all_ok and not self.stop.is_set()

    def _run_wave(self, steps: list[Step], apps: Mapping[str, App], outcomes: dict[str, Outcome],
                  policy: FailurePolicy) -> bool:
        deadline = self.clock() + self.timeout
        halt = threading.Event()
        watch = self.platform.watch(interval=self.poll, clock=self.clock, slots=self.slots)
        if self._real_time:
            watch.start(events=self.events)
        try:
            with ThreadPoolExecutor(max_workers=min(self.parallel, len(steps)), thread_name_prefix="deploy") as pool:
                futures = [pool.submit(self._deploy_one, step, apps[step.service], outcomes, deadline,
                                       halt, policy, watch) for step in steps]
                wait(futures)
                for future in futures:
                    future.result()
        finally:
            watch.close()
        return all(outcomes[s.service].status == Status.SUCCEEDED for s in steps)

    def _say_once(self, key: str, line: str) -> None:
        with self._said_lock:
            if key in self._said:
                return
            self._said.add(key)
        self.report(line)

    def _admit(self, outcomes: dict[str, Outcome], service: str, deadline: float, watch: Watch,
               halt: threading.Event) -> int | None:
        """Wait for one of Marathon's deployment slots; None when stopped, halted or past the deadline."""
        while True:
            watch.view()  # counts the running deployments (at most once per poll interval)
            token = self.slots.take()
            if token is not None:
                outcomes[service] = replace(outcomes[service], stuck_reason=None)
                return token
            remaining = deadline - self.clock()
            if self.stop.is_set() or halt.is_set() or remaining <= 0:
                return None
            if self.slots.counted:  # (before the first read of the list, nothing is known to be full)
                waiting = (f"waiting for a free deployment slot: Marathon admits {self.slots.cap} "
                           f"running deployments and {self.slots.in_use()} are running")
                outcomes[service] = replace(outcomes[service], stuck_reason=waiting)
                self._say_once(f"full {self.slots.cap}", f"deployment slots full: {outcomes[service].stuck_reason}; "
                               "the other services wait for a free slot")
            self._slot_wait(min(self.poll, remaining))

    def _deploy_one(self, step: Step, app: App, outcomes: dict[str, Outcome], deadline: float,
                    halt: threading.Event, policy: FailurePolicy, watch: Watch) -> None:
        service = step.service
        assert step.target is not None
        queued = self.clock()
        while True:
            if self.stop.is_set() or halt.is_set():
                outcomes[service] = replace(outcomes[service], status=Status.NOT_STARTED)
                return
            token = self._admit(outcomes, service, deadline, watch, halt)
            if token is None:
                if self.stop.is_set() or halt.is_set():
                    outcomes[service] = replace(outcomes[service], status=Status.NOT_STARTED)
                    return
                why = outcomes[service].stuck_reason or "Marathon's running deployments could not be counted"
                self._fail(outcomes, service, FailureClass.DEADLINE, f"no free deployment slot within "
                           f"{self.timeout:.0f}s ({why}); nothing was changed for it", queued, halt, policy)
                return
            if self.gate is not None and not self.gate():
                self._not_proved(outcomes, service, token)
                return
            started = self.clock()
            try:
                deployment_id = self.platform.change(app, step.target, version=step.restore_version, force=self.force,
                                                     fence=self.fence)
            except WriteFenced:
                # the proof lapsed between the gate and the write (a stopped process, a starved thread):
                # nothing was sent; the gate proves the lock again, or finds it lost, before anything is
                self.slots.release(token)
                continue
            except MarathonBusy as err:
                # other tools deploy too: Marathon's cap was reached after all; wait for the next free slot
                self.slots.refused(token, err.cap)
                self._say_once(f"cap {self.slots.cap}", f"Marathon admits at most {self.slots.cap} running "
                               "deployments (its 403); waiting for free slots")
                continue
            except MarathonLocked as err:
                self._fail(outcomes, service, FailureClass.LOCKED, str(err), started, halt, policy)
            except MarathonRejected as err:
                self._fail(outcomes, service, FailureClass.REJECTED, str(err), started, halt, policy)
            except (UnreachableError, MarathonError) as err:
                self._fail(outcomes, service, FailureClass.UNREACHABLE, str(err), started, halt, policy)
            else:
                outcomes[service] = replace(outcomes[service], deployment_id=deployment_id)
                self.slots.started(token, deployment_id, self.clock())
                watch.started(deployment_id, self.clock())
                self.report(f"{step.service}: deploying {step.target} (deployment {deployment_id or '?'})")
                try:
                    self._wait_for(step, outcomes, deadline, started, halt, policy, watch)
                finally:
                    watch.forget(deployment_id)
                if outcomes[service].status == Status.SUCCEEDED:
                    self.slots.release(token)  # its deployment is over (the app lists none)
                return
            self.slots.release(token)
            return

    def _explain(self, step: Step, outcomes: dict[str, Outcome], app: App | None, view: View, started: float, *,
                 now: bool = False) -> None:
        """Say why the deployment still waits, when that changes (after ``stuck_after`` seconds, or ``now``)."""
        service = step.service
        if app is None or (not now and self.clock() - started < self.stuck_after):
            return
        reason = self.platform.why_stuck(str(step.app_id), app, view, outcomes[service].deployment_id, self.now())
        if reason and reason != outcomes[service].stuck_reason:
            self.report(f"{step.service}: still waiting: {reason}")
        outcomes[service] = replace(outcomes[service], stuck_reason=reason or outcomes[service].stuck_reason)

    def _wait_for(self, step: Step, outcomes: dict[str, Outcome], deadline: float, started: float,
                  halt: threading.Event, policy: FailurePolicy, watch: Watch) -> None:
        service = step.service
        assert step.app_id and step.target
        deployment_id = outcomes[service].deployment_id
        interval = self.poll
        last_detail, last_error = "", ""
        unhealthy = False
        polls = 0
        app: App | None = None
        while True:
            if self.stop.is_set():
                outcomes[service] = replace(
                    outcomes[service], status=Status.INTERRUPTED, seconds=round(self.clock() - started, 3),
                    error=f"interrupted while deployment {deployment_id} was in flight")
                return
            polls += 1
            near_deadline = deadline - self.clock() <= interval
            view = watch.view(want_queue=self.clock() - started >= self.stuck_after)
            if polls > 1 and polls % APP_EVERY and not near_deadline and view.listed(deployment_id):
                self._explain(step, outcomes, app, view, started)
                self._pause(min(interval, max(0.0, deadline - self.clock())), watch, deployment_id)
                interval = min(interval * 1.5, self.max_poll)
                continue
            verdict: Judgement | None = None
            try:
                # A hung Marathon must not hold the wave far past its deadline.
                app = self.platform.read_app(step.app_id, timeout=max(1.0, min(10.0, deadline - self.clock())))
                verdict = self.platform.judge(app, step.target, {deployment_id} if deployment_id else set())
                last_error = ""
            except (UnreachableError, MarathonError) as err:
                last_error = str(err)
            if verdict is not None:
                if verdict.done and self.verify:
                    problem = self.verify(step)
                    if problem:
                        self._fail(outcomes, service, FailureClass.HEALTH_URL, problem, started, halt, policy)
                        return
                if verdict.done:
                    seconds = round(self.clock() - started, 3)
                    version = app.get("version") if app is not None else None
                    outcomes[service] = replace(outcomes[service], status=Status.SUCCEEDED, stuck_reason=None,
                                                seconds=seconds, version=version if isinstance(version, str) else None,
                                                finished_at=self.now().astimezone(dt.timezone.utc).isoformat())
                    self.report(f"{step.service}: done on {step.target} in {seconds:.1f}s ({verdict.detail})")
                    self.notifier.service_done(service=step.service, app_id=step.app_id, from_image=step.current,
                                               to_image=step.target, status=Status.SUCCEEDED, seconds=seconds,
                                               error=None)
                    return
                if verdict.superseded:
                    self._fail(outcomes, service, FailureClass.SUPERSEDED, verdict.detail, started, halt, policy)
                    return
                unhealthy = verdict.unhealthy
                if verdict.detail != last_detail:
                    self.report(f"{step.service}: {verdict.detail} ({self.clock() - started:.1f}s)")
                    last_detail = verdict.detail
                self._explain(step, outcomes, app, view, started)
            remaining = deadline - self.clock()
            if remaining <= 0:
                if not last_error:  # a failure always says why it waited, however short the deadline
                    self._explain(step, outcomes, app, watch.view(want_queue=True), started, now=True)
                why = f"; why: {outcomes[service].stuck_reason}" if outcomes[service].stuck_reason else ""
                if last_error:
                    self._fail(outcomes, service, FailureClass.UNREACHABLE,
                               f"lost Marathon while waiting: {last_error}",
                               started, halt, policy)
                elif unhealthy:
                    self._fail(outcomes, service, FailureClass.UNHEALTHY,
                               f"new tasks unhealthy after {self.timeout:.0f}s "
                               f"({last_detail}); deployment {deployment_id} is still in flight{why}",
                               started, halt, policy)
                else:
                    self._fail(outcomes, service, FailureClass.DEADLINE,
                               f"not done after {self.timeout:.0f}s ({last_detail}); "
                               f"deployment {deployment_id} is still in flight{why}", started, halt, policy)
                return
            self._wait(min(interval, remaining))
            interval = min(interval * 1.5, self.max_poll)

    def _pause(self, seconds: float, watch: Watch, deployment_id: str | None) -> None:
        """Wait before the next poll; in real time, wake as soon as a read no longer lists the deployment."""
        if not self._real_time or not deployment_id:
            self._wait(seconds)
            return
        gone = watch.gone(deployment_id)
        if gone.wait(seconds):
            gone.clear()

    def _not_proved(self, outcomes: dict[str, Outcome], service: str, token: int) -> None:
        self.slots.release(token)
        outcomes[service] = replace(outcomes[service], status=Status.NOT_STARTED,
                                    error="not started: the environment's lock could no longer be proved held")

    def _fail(self, outcomes: dict[str, Outcome], service: str, failure_class: FailureClass, error: str,
              started: float, halt: threading.Event, policy: FailurePolicy) -> None:
        outcome = outcomes[service] = replace(outcomes[service], status=Status.FAILED, failure_class=failure_class,
                                              error=error, seconds=round(self.clock() - started, 3))
        if policy != FailurePolicy.CONTINUE:
            halt.set()
        self.report(f"{outcome.service}: FAILED ({failure_class}): {error}")
        self.notifier.service_done(service=outcome.service, app_id=outcome.app_id, from_image=outcome.from_image,
                                   to_image=outcome.to_image, status=Status.FAILED, seconds=outcome.seconds,
                                   error=error)
