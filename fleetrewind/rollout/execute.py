"""Carry a plan out through Marathon: waves, bounded parallelism, a deadline per wave, waiting.

A deployment is done when the app has no deployment in flight and runs ``instances`` tasks
of the new version, healthy where it has health checks. Marathon never fails a deployment by
itself (reference section 9), so the deadline and the judgement are ours.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..errors import MarathonError, MarathonLocked, MarathonRejected, UnreachableError
from .health import judge
from ..marathon.client import MarathonClient
from .outcomes import Outcome
from .plan import Plan, Step
from .states import FailureClass, Status

if TYPE_CHECKING:
    from ..notify.slack import Notifier

# A check run once a service is deployed (deploy's --health-url); returns an error or None.
Verify = Callable[[Step], "str | None"]


APP_EVERY = 5  # while a deployment is listed, read the app itself only every 5th poll (progress)


class DeploymentWatch:
    """One shared ``GET /v2/deployments`` per interval for a whole wave.

    While a service's deployment is still listed there is nothing to judge yet, so the threads
    of a wave share this one cheap read instead of each reading its app (with all its tasks)
    on every poll: that is most of the tool's CPU and of Marathon's load in a big wave.
    """

    def __init__(self, client: MarathonClient, interval: float) -> None:
        self.client = client
        self.interval = interval
        self._lock = threading.Lock()
        self._fetched = float("-inf")
        self._ids: set[str] | None = None

    def listed(self, deployment_id: str | None) -> bool:
        """True when Marathon lists this deployment as running (False when unsure: then look at the app)."""
        if not deployment_id:
            return False
        with self._lock:
            if time.monotonic() - self._fetched >= self.interval:
                try:
                    self._ids = {str(d.get("id")) for d in self.client.deployments()}
                except (UnreachableError, MarathonError):
                    self._ids = None
                self._fetched = time.monotonic()
            return self._ids is not None and deployment_id in self._ids


class Executor:
    def __init__(self, client: MarathonClient, *, timeout: float, parallel: int, force: bool,
                 report: Callable[[str], None], notifier: "Notifier", stop: threading.Event,
                 verify: Verify | None = None, poll: float = 0.5, max_poll: float = 1.0) -> None:
        # Polls of one app after its PUT: 0.5 s, then x1.5 up to max_poll (0.5, 1.25, 2.25, 3.25 s...).
        # A deployment is seen done at most max_poll late; 6 polls for a 5 s deployment (bench/bench_run.py).
        self.client = client
        self.timeout = timeout
        self.parallel = parallel
        self.force = force
        self.report = report
        self.notifier = notifier
        self.stop = stop
        self.poll = poll
        self.max_poll = max_poll
        self.verify = verify

    def run(self, plan: Plan, apps: Mapping[str, dict[str, Any]], outcomes: Mapping[str, Outcome], *,
            policy: str) -> bool:
        """Deploy every changing step; return True when all of them succeeded."""
        all_ok = True
        for number, wave in enumerate(plan.wave_steps(), start=1):
            if self.stop.is_set():
                break
            names = ", ".join(s.service for s in wave)
            self.report(f"wave {number}/{len(plan.wave_steps())}: {names} (deadline {self.timeout:.0f}s)")
            ok = self._run_wave(wave, apps, outcomes, policy)
            all_ok = all_ok and ok
            if not ok and policy != "continue":
                break
        return all_ok and not self.stop.is_set()

    def _run_wave(self, steps: list[Step], apps: Mapping[str, dict[str, Any]], outcomes: Mapping[str, Outcome],
                  policy: str) -> bool:
        deadline = time.monotonic() + self.timeout
        halt = threading.Event()
        watch = DeploymentWatch(self.client, self.poll)
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(steps)), thread_name_prefix="deploy") as pool:
            futures = [pool.submit(self._deploy_one, step, apps[step.service], outcomes[step.service], deadline,
                                   halt, policy, watch) for step in steps]
            wait(futures)
            for future in futures:
                future.result()
        return all(outcomes[s.service].status == Status.SUCCEEDED for s in steps)

    def _deploy_one(self, step: Step, app: dict[str, Any], outcome: Outcome, deadline: float,
                    halt: threading.Event, policy: str, watch: DeploymentWatch) -> None:
        if self.stop.is_set() or halt.is_set():
            outcome.status = Status.NOT_STARTED
            return
        assert step.target is not None
        started = time.monotonic()
        try:
            outcome.deployment_id = self.client.update_image(app, step.target, force=self.force) or None
        except MarathonLocked as err:
            self._fail(outcome, FailureClass.LOCKED, str(err), started, halt, policy)
            return
        except MarathonRejected as err:
            self._fail(outcome, FailureClass.REJECTED, str(err), started, halt, policy)
            return
        except (UnreachableError, MarathonError) as err:
            self._fail(outcome, FailureClass.UNREACHABLE, str(err), started, halt, policy)
            return
        self.report(f"{step.service}: deploying {step.target} (deployment {outcome.deployment_id or '?'})")
        self._wait(step, outcome, deadline, started, halt, policy, watch)

    def _wait(self, step: Step, outcome: Outcome, deadline: float, started: float, halt: threading.Event,
              policy: str, watch: DeploymentWatch) -> None:
        assert step.app_id and step.target
        interval = self.poll
        last_detail, last_error = "", ""
        unhealthy = False
        polls = 0
        while True:
            if self.stop.is_set():
                outcome.status = Status.INTERRUPTED
                outcome.seconds = round(time.monotonic() - started, 3)
                outcome.error = f"interrupted while deployment {outcome.deployment_id} was in flight"
                return
            polls += 1
            near_deadline = deadline - time.monotonic() <= interval
            if polls > 1 and polls % APP_EVERY and not near_deadline and watch.listed(outcome.deployment_id):
                self.stop.wait(min(interval, max(0.0, deadline - time.monotonic())))
                interval = min(interval * 1.5, self.max_poll)
                continue
            try:
                # A hung Marathon must not hold the wave far past its deadline.
                app = self.client.get_app(step.app_id, timeout=max(1.0, min(10.0, deadline - time.monotonic())))
                verdict = judge(app, step.target, {outcome.deployment_id} if outcome.deployment_id else set())
                last_error = ""
            except (UnreachableError, MarathonError) as err:
                verdict, last_error = None, str(err)
            if verdict is not None:
                if verdict.done and self.verify:
                    problem = self.verify(step)
                    if problem:
                        self._fail(outcome, FailureClass.HEALTH_URL, problem, started, halt, policy)
                        return
                if verdict.done:
                    outcome.status = Status.SUCCEEDED
                    outcome.seconds = round(time.monotonic() - started, 3)
                    self.report(f"{step.service}: done on {step.target} in {outcome.seconds:.1f}s ({verdict.detail})")
                    self.notifier.service_done(service=step.service, app_id=step.app_id, from_image=step.current,
                                               to_image=step.target, status=Status.SUCCEEDED, seconds=outcome.seconds,
                                               error=None)
                    return
                if verdict.superseded:
                    self._fail(outcome, FailureClass.SUPERSEDED, verdict.detail, started, halt, policy)
                    return
                unhealthy = verdict.unhealthy
                if verdict.detail != last_detail:
                    self.report(f"{step.service}: {verdict.detail} ({time.monotonic() - started:.1f}s)")
                    last_detail = verdict.detail
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if last_error:
                    self._fail(outcome, FailureClass.UNREACHABLE, f"lost Marathon while waiting: {last_error}",
                               started, halt, policy)
                elif unhealthy:
                    self._fail(outcome, FailureClass.UNHEALTHY, f"new tasks unhealthy after {self.timeout:.0f}s "
                               f"({last_detail}); deployment {outcome.deployment_id} is still in flight",
                               started, halt, policy)
                else:
                    self._fail(outcome, FailureClass.DEADLINE, f"not done after {self.timeout:.0f}s ({last_detail}); "
                               f"deployment {outcome.deployment_id} is still in flight", started, halt, policy)
                return
            self.stop.wait(min(interval, remaining))
            interval = min(interval * 1.5, self.max_poll)

    def _fail(self, outcome: Outcome, failure_class: FailureClass, error: str, started: float, halt: threading.Event,
              policy: str) -> None:
        outcome.status = Status.FAILED
        outcome.failure_class = failure_class
        outcome.error = error
        outcome.seconds = round(time.monotonic() - started, 3)
        if policy != "continue":
            halt.set()
        self.report(f"{outcome.service}: FAILED ({failure_class}): {error}")
        self.notifier.service_done(service=outcome.service, app_id=outcome.app_id, from_image=outcome.from_image,
                                   to_image=outcome.to_image, status=Status.FAILED, seconds=outcome.seconds, error=error)
