"""While a deployment is listed, a wave shares one GET /v2/deployments instead of reading each app."""

from __future__ import annotations

import pytest

from fleetrewind.rollout.execute import Executor
from fleetrewind.marathon.client import MarathonClient
from fleetrewind.notify.slack import NullNotifier
from fleetrewind.rollout.outcomes import outcomes_for
from fleetrewind.rollout.states import Status
from fleetrewind.rollout.plan import plan_for_images
from fleetrewind.transport import TLS, Transport
from marathonsim import Simulator
from tests.fake_time import FakeTime

APP = {
    "id": "/ds/prod/shop/api",
    "instances": 1,
    "container": {"type": "DOCKER", "docker": {"image": "reg:5000/api:1-master"}},
    "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health"}],
}


@pytest.mark.network
def test_a_listed_deployment_is_watched_through_the_deployments_list() -> None:
    fake = FakeTime()
    with Simulator(apps=[APP], deploy_seconds=3.0, clock=fake.epoch) as sim:
        client = MarathonClient(Transport(sim.url, tls=TLS()))
        app = client.get_app(APP["id"])
        plan = plan_for_images({"api": "reg:5000/api:2-master"}, current={"api": "reg:5000/api:1-master"},
                               app_ids={"api": APP["id"]}, waves=[["api"]], env="prod", reason="test")
        outcomes = outcomes_for(plan)
        sim.reset_requests()
        ok = Executor(client, timeout=30, parallel=1, force=False, report=lambda _: None, notifier=NullNotifier(),
                      stop=fake.stop, clock=fake.monotonic, wait=fake.wait, now=fake.now).run(
            plan, {"api": app}, outcomes, policy="stop")
        assert ok and outcomes["api"].status == Status.SUCCEEDED
        reads = [r["path"] for r in sim.requests if r["method"] == "GET"]
        # one look right after the PUT, one once the deployment left the list: not one per poll
        assert reads.count("/v2/apps/ds/prod/shop/api") == 2, reads
        assert reads.count("/v2/deployments") >= 2, reads
        assert sim.apps[APP["id"]]["container"]["docker"]["image"] == "reg:5000/api:2-master"
        # polls at 0, 0.5, 1.25, 2.25 s see it listed; the one at 3.25 s sees it done
        assert outcomes["api"].seconds == 3.25
