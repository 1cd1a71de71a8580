"""``deploy``: deploy new images; if they do not come up healthy, go back to the snapshot.

States: RUNNING -> SUCCEEDED, or RUNNING -> FAILED -> ROLLING_BACK -> ROLLBACK_COMPLETED |
ROLLBACK_FAILED. Which failure classes trigger the rollback is the config's ``rollback_on``
(default: deadline, unhealthy, health-url): a rejected definition (422) is not helped by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from .. import factory
from ..planning.served import rolled_back_checks
from ..console import Console
from ..rollout.healthurl import HealthUrlChecker
from ..planning.build import render_table
from ..planning.make import plan_release
from ..model.plan import FailurePolicy
from ..model.states import State
from .changing import print_result, rollout as start_rollout
from ..settings.commands import DeploySettings
from ..state.store import StateStore


def execute(settings: DeploySettings, console: Console) -> int:
    with factory.journal(settings.files, settings.common.dump) as store:  # unreachable: exit 4, nothing read
        return _deploy(settings, console, store)


def _deploy(settings: DeploySettings, console: Console, store: StateStore) -> int:
    as_json = settings.common.json
    platform = factory.platform(settings.marathon)
    plan, fleet = plan_release(settings.images, platform, env=settings.env, waves=settings.rollout.waves)
    deployed = factory.inputs(settings.common.dump, store).evidence(settings.env).deployed
    plan = replace(plan, checks=plan.checks + rolled_back_checks(plan, deployed, tz=dt.timezone.utc))
    if not as_json:
        console.result(render_table(plan))
    rollout = start_rollout(settings, console, platform, store, command="deploy", env=settings.env,
                            announce_states=True)
    rollout.verify = HealthUrlChecker(settings.health_urls, grace=settings.health_grace, tls=settings.common.tls,
                                      stop=rollout.stop) if settings.health_urls else None
    policy = FailurePolicy.REVERT if settings.auto_rollback else FailurePolicy.STOP
    result = rollout.execute(plan, fleet, policy=policy, revert_on=settings.rollback_on)
    if not as_json:
        for state in result.states:
            console.result(f"state: {state}")
    if result.state == State.FAILED and not settings.auto_rollback and result.report.undo:
        console.warn(f"auto-rollback is off: the failed state is left in place; roll back by hand with {result.report.undo}")
    print_result(console, result, as_json=as_json)  # its reason is the last line of stderr
    return result.exit_code
