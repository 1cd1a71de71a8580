"""While a deployment is listed, a wave shares one GET /v2/deployments instead of reading each app."""

from __future__ import annotations

import pytest

from fleetrewind.rollout.execute import Executor
from fleetrewind.marathon.client import MarathonClient
from fleetrewind.marathon.platform import MarathonPlatform
from fleetrewind.rollout.events import Silent
from fleetrewind.rollout.outcomes import outcomes_for
from fleetrewind.model.states import Status
from fleetrewind.planning.build import plan_for_images
from fleetrewind.transport import TLS, Transport
from marathonsim import Simulator
from tests.fake_time import FakeTime

pytestmark = pytest.mark.network  # each test starts its own simulator

APP = {
    "id": "/ds/prod/shop/api",
    "instances": 1,
    "container": {"type": "DOCKER", "docker": {"image": "reg:5000/api:1-master"}},
    "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health"}],
}


def test_a_listed_deployment_is_watched_through_the_deployments_list() -> None:
    fake = FakeTime()
    with Simulator(apps=[APP], deploy_seconds=3.0, clock=fake.epoch) as sim:
        client = MarathonClient(Transport(sim.url, tls=TLS()))
        app = client.get_app(APP["id"])
        plan = plan_for_images({"api": "reg:5000/api:2-master"}, current={"api": "reg:5000/api:1-master"},
                               app_ids={"api": APP["id"]}, waves=[["api"]], env="prod", reason="test")
        outcomes = outcomes_for(plan)
        sim.reset_requests()
        ok = Executor(MarathonPlatform(client), timeout=30, parallel=1, force=False, report=lambda _: None, notifier=Silent(),
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


def test_a_waiting_deployment_is_explained_from_one_shared_queue_read_only_once_it_has_waited() -> None:
    fake = FakeTime()
    apps = [dict(APP, id=f"/ds/prod/shop/{name}", container={"type": "DOCKER", "docker": {"image": f"reg:5000/{name}:1"}})
            for name in ("api", "web")]
    with Simulator(apps=apps, deploy_seconds=1.0, clock=fake.epoch, capacity={"cpus": 64, "mem": 65536, "agents": 2},
                   knobs={"/ds/prod/shop/web": {"decline_reason": "InsufficientMemory"}}) as sim:
        client = MarathonClient(Transport(sim.url, tls=TLS()))
        current = {n: f"reg:5000/{n}:1" for n in ("api", "web")}
        plan = plan_for_images({n: f"reg:5000/{n}:2" for n in current}, current=current,
                               app_ids={n: f"/ds/prod/shop/{n}" for n in current}, waves=[["api", "web"]], env="prod",
                               reason="test")
        outcomes = outcomes_for(plan)
        lines: list[str] = []
        sim.reset_requests()
        ok = Executor(MarathonPlatform(client), timeout=20, parallel=1, force=False, report=lines.append, notifier=Silent(),
                      stop=fake.stop, clock=fake.monotonic, wait=fake.wait, now=fake.now).run(
            plan, {n: client.get_app(f"/ds/prod/shop/{n}") for n in current}, outcomes, policy="continue")
        assert not ok
        queue_reads = [r for r in sim.requests if r["path"] == "/v2/queue"]
    assert outcomes["api"].status == Status.SUCCEEDED and outcomes["api"].stuck_reason is None
    web = outcomes["web"]
    assert web.status == Status.FAILED and web.failure_class == "deadline"
    assert web.stuck_reason is not None and web.stuck_reason.startswith("no agent has room: insufficient memory on ")
    explained = [line for line in lines if "still waiting" in line]
    assert explained and explained[-1] == f"web: still waiting: {web.stuck_reason}"
    assert all(line.startswith("web: still waiting: no agent has room: insufficient memory on ") for line in explained)
    assert f"why: {web.stuck_reason}" in (web.error or "")
    # api took 1 s and never waited long enough to be explained; web waited 20 s: one read per 2 s after 5 s
    assert 1 <= len(queue_reads) <= 9, len(queue_reads)
