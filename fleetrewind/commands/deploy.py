"""``deploy``: deploy new images; if they do not come up healthy, go back to the snapshot.

States: RUNNING -> SUCCEEDED, or RUNNING -> FAILED -> ROLLING_BACK -> ROLLBACK_COMPLETED |
ROLLBACK_FAILED. Which failure classes trigger the rollback is the config's ``rollback_on``
(default: deadline, unhealthy, health-url): a rejected definition (422) is not helped by one.
"""

from __future__ import annotations

from .. import factory
from ..console import Console
from ..model.states import State
from ..planning.build import render_table
from ..planning.make import PlanRequest, Release, make_plan
from ..rollout.healthurl import HealthUrlChecker
from ..settings.commands import DeploySettings
from .changing import print_result


def execute(settings: DeploySettings, console: Console) -> int:
    as_json = settings.common.json
    request = PlanRequest(env=settings.env, target=Release(settings.images), waves=settings.rollout.waves)
    with factory.Clients(settings) as clients:
        planned = make_plan(request, clients.platform, clients.inputs())  # a store unreachable: exit 4, nothing read
        plan, fleet = planned.plan, planned.fleet
        assert fleet is not None  # a release always names its services
        if not as_json:
            console.result(render_table(plan))
        rollout = clients.rollout(console, command="deploy", env=settings.env, announce_states=True)
        rollout.verify = HealthUrlChecker(settings.health_urls, grace=settings.health_grace, tls=settings.common.tls,
                                          stop=rollout.stop) if settings.health_urls else None
        result = rollout.execute(plan, fleet)
    if not as_json:
        for state in result.states:
            console.result(f"state: {state}")
    if result.state == State.FAILED and not settings.auto_rollback and result.report.undo:
        console.warn(f"auto-rollback is off: the failed state is left in place; roll back by hand with {result.report.undo}")
    print_result(console, result, as_json=as_json)  # its reason is the last line of stderr
    return result.exit_code
