"""The Jenkins pipeline without Jenkins: the stages of jenkins/steps.sh in the order the Jenkinsfile
runs them, against the real registry and the Marathon simulator, with each ACTION and parameter.

What Groovy adds (the dropdown, the approval, the lock, archiving) is wiring; the approval is a
point where the test may stop (refused) or let the fleet move (a deploy in between).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from marathonsim import Simulator
from tests.fleet_support import deploy_by_hand
from testbed.fleet import SAMPLE_FLEET, populate

ROOT = Path(__file__).resolve().parents[2]
STEPS = ROOT / "jenkins" / "steps.sh"
PREFIX = "t/jenkins-steps/"
SERVICES = ["api", "worker", "auth", "web"]
NEWEST = {"api": "515-master", "worker": "210-master", "auth": "406-master", "web": "308-master"}
AT_19 = {"api": "512-master", "worker": "207-master", "auth": "405-master", "web": "306-master"}
DATE = "2026-11-19"
USER, PASSWORD = "jenkins", "Jenkins-Marathon-Pw-4r!9"

pytestmark = pytest.mark.slow


@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def last_err(self) -> str:
        return self.err.rstrip().splitlines()[-1]

    @property
    def last_out(self) -> str:
        return self.out.rstrip().splitlines()[-1]


@dataclass
class Job:
    """One Jenkins job's workspace and agent home, and its Marathon."""

    sim: Simulator
    workspace: Path
    home: Path
    base: dict[str, str]
    host: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def dump(self) -> Path:
        return self.workspace / "dump"

    def stage(self, name: str, **params: str) -> Done:
        env = {**self.base, **self.params, **params}
        done = subprocess.run(["bash", str(STEPS), name], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
        assert PASSWORD not in done.stdout + done.stderr
        return Done(done.returncode, done.stdout, done.stderr)

    def tags(self) -> dict[str, str]:
        apps = self.sim.apps
        return {n: apps[f"/ds/prod/shop/{n}"]["container"]["docker"]["image"].rsplit(":", 1)[1] for n in SERVICES}

    def deploy_by_hand(self, name: str, tag: str) -> None:
        deploy_by_hand(self.sim, f"/ds/prod/shop/{name}", f"{self.host}/{PREFIX}{name}:{tag}", (USER, PASSWORD))

    def reason(self) -> str:
        return (self.dump / "reason.txt").read_text().strip()


@pytest.fixture(scope="module")
def pushed(registry: Any) -> str:
    populate(registry.url, SAMPLE_FLEET, prefix=PREFIX)
    return str(registry.url)


@pytest.fixture
def make_job(pushed: str, tmp_path: Path) -> Iterator[Callable[..., Job]]:
    sims: list[Simulator] = []

    def make(timeout: int = 10, **sim_options: Any) -> Job:
        host = pushed.split("://", 1)[1]
        apps = [{"id": f"/ds/prod/shop/{n}", "instances": 1, "cpus": 0.1, "mem": 64,
                 "container": {"type": "DOCKER", "docker": {"image": f"{host}/{PREFIX}{n}:{NEWEST[n]}"}},
                 "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}]} for n in SERVICES]
        sim = Simulator(apps=apps, auth=(USER, PASSWORD), deploy_seconds=0.1, **sim_options).start()
        sims.append(sim)
        root = tmp_path / f"job{len(sims)}"
        inventory = root / "inventories" / "prod" / "group_vars"
        inventory.mkdir(parents=True)
        (inventory / "all.yml").write_text(
            f"fleet_rollback_env: prod\nfleet_rollback_services: [{', '.join(PREFIX + s for s in SERVICES)}]\n"
            f"fleet_rollback_registry: {pushed}\nfleet_rollback_marathon: {sim.url}\n"
            f"fleet_rollback_timeout: {timeout}\nfleet_rollback_on_failure: stop\n")
        base = {"PATH": os.environ["PATH"], "HOME": str(root / "agent"), "ENVIRONMENT": "prod",
                "WORKSPACE": str(root / "workspace"), "ROLLBACK_HOME": str(root / "agent" / "fleetrewind"),
                "ROLLBACK_INVENTORY": str(root / "inventories"), "ROLLBACK_PYTHON": sys.executable,
                "ROLLBACK_LOCK_DIR": str(root / "state" / "fleetrewind"), "XDG_CACHE_HOME": str(root / "cache"),
                "DOCKER_CONFIG": str(root / "docker"), "PYTHONPATH": str(ROOT),
                # what withCredentials binds
                "MARATHON_USER": USER, "MARATHON_PASSWORD": PASSWORD}
        return Job(sim, root / "workspace", root / "agent" / "fleetrewind" / "prod", base, host)

    yield make
    for sim in sims:
        sim.stop()


@pytest.fixture
def job(make_job: Callable[..., Job]) -> Job:
    return make_job()


def test_rollback_gets_plans_once_runs_that_plan_and_offers_undo(job: Job) -> None:
    got = job.stage("get", ACTION="rollback")
    assert got.code == 0, got.err
    dates = json.loads((job.dump / "dates.json").read_text())
    assert DATE in [d["date"] for d in dates["dates"]]
    assert all("ran:" in d["label"] for d in dates["dates"])  # get read Marathon with the bound credentials

    planned = job.stage("plan", DATE=DATE, RULE="built")
    assert planned.code == 0, planned.err
    assert f"4 of 4 services change (rollback to {DATE})" in (job.dump / "plan.txt").read_text()
    assert json.loads((job.dump / "plan.json").read_text())["format"] == "fleetrewind-plan/1"

    ran = job.stage("run", APPROVER="jane")
    assert ran.code == 0, ran.err
    assert job.tags() == AT_19
    report = json.loads(next(job.dump.glob("report-*.json")).read_text())
    assert report["actor"] == "jane" and report["state"] == "SUCCEEDED"
    assert ran.last_out.startswith("to undo: rollback.py undo --snapshot=")
    assert not (job.dump / "reason.txt").exists()

    undone = job.stage("undo", ACTION="undo")  # no SNAPSHOT: the last run's, kept on the agent
    assert undone.code == 0, undone.err
    assert job.tags() == NEWEST


def test_approval_refused_changes_nothing(job: Job) -> None:
    assert job.stage("get").code == 0
    assert job.stage("plan", DATE=DATE).code == 0
    # the approver answers Abort: the Jenkinsfile never starts the run stage
    assert job.tags() == NEWEST
    assert [r for r in job.sim.requests if r["method"] == "PUT"] == []


def test_a_plan_gone_stale_between_approval_and_run_is_refused_with_exit_3(job: Job) -> None:
    assert job.stage("get").code == 0
    assert job.stage("plan", DATE=DATE).code == 0
    job.deploy_by_hand("web", "307-master")  # a deploy lands while the plan waits for its approval

    ran = job.stage("run", APPROVER="jane")

    assert ran.code == 3
    assert ran.last_err == job.reason()
    assert job.reason().startswith("error: the plan plan.json is stale: ") and f"{PREFIX}web" in job.reason()
    assert job.tags() == {**NEWEST, "web": "307-master"}
    assert not list(job.dump.glob("snapshot-*.json"))


def test_a_failed_run_ends_with_its_reason_and_undo_puts_the_fleet_back(make_job: Callable[..., Job]) -> None:
    job = make_job(timeout=1, unhealthy_images=["*/web:306-master"])
    assert job.stage("get").code == 0
    assert job.stage("plan", DATE=DATE).code == 0

    ran = job.stage("run", APPROVER="jane", ON_FAILURE="stop")

    assert ran.code == 1
    assert ran.last_err == job.reason()
    assert job.reason().startswith(f"error: run ended FAILED: {PREFIX}web unhealthy")
    assert ran.last_out.startswith("to undo: rollback.py undo --snapshot=") and ran.last_out.endswith("--force")

    undone = job.stage("undo", ACTION="undo")  # web's deployment is still in flight: the kept line says --force
    assert undone.code == 0, undone.err
    assert job.tags() == NEWEST


def test_services_not_in_rollback_json_stop_the_build_before_any_question(job: Job) -> None:
    got = job.stage("get", SERVICES=f"{PREFIX}api,{PREFIX}nope")

    assert got.code == 2
    assert job.reason() == got.last_err
    assert f"'{PREFIX}nope', not a service of rollback.json" in job.reason()


def test_undo_of_a_named_snapshot_and_without_any_known_run(job: Job) -> None:
    nothing = job.stage("undo", ACTION="undo")
    assert nothing.code == 2 and "set SNAPSHOT" in job.reason()

    assert job.stage("get").code == 0
    assert job.stage("plan", DATE=DATE, SERVICES=f"{PREFIX}api").code == 0
    assert job.stage("run").code == 0
    assert job.tags() == {**NEWEST, "api": AT_19["api"]}
    [snapshot] = job.dump.glob("snapshot-*.json")

    undone = job.stage("undo", ACTION="undo", SNAPSHOT=snapshot.name)  # the archived file's name
    assert undone.code == 0, undone.err
    assert job.tags() == NEWEST


@pytest.mark.parametrize("action", ["status", "diff"])
def test_status_and_diff_change_nothing(job: Job, action: str) -> None:
    assert job.stage("get", ACTION=action).code == 0

    done = job.stage(action, ACTION=action, DATE="2026-11-18")

    assert done.code == 0, done.err
    shown = (job.dump / f"{action}.txt").read_text()
    assert f"{PREFIX}api" in shown
    assert job.tags() == NEWEST


def test_scope_rule_and_strict_reach_the_plan(job: Job) -> None:
    assert job.stage("get").code == 0

    scoped = job.stage("plan", DATE=DATE, SERVICES=f"{PREFIX}api,{PREFIX}web", EXCLUDE=f"{PREFIX}web", RULE="ran",
                       STRICT="true")

    plan = json.loads((job.dump / "plan.json").read_text())
    assert plan["plan"]["rule"] == "ran" and plan["inputs"]["flags"]["strict"] is True
    assert plan["plan"]["scope"]["only"] == [f"{PREFIX}api", f"{PREFIX}web"]
    assert scoped.code in (0, 3)  # the simulator's history does not reach the date: strict may refuse
    with_config = job.stage("plan", DATE=DATE, WITH_CONFIG="true")
    assert with_config.code == 2 and "with-config" in job.reason()  # no stored version at the date


def test_every_parameter_reaches_the_tool(job: Job, zk: Any, tmp_path: Path) -> None:
    """AT, RULE=good, STATE and ON_FAILURE as the tool receives them. STATE names the session's ZooKeeper:
    a store nobody listens at keeps each stage waiting out the tool's connect timeout."""
    state = zk.url(zk.chroot)
    seen = tmp_path / "seen.jsonl"
    spy = tmp_path / "python"
    spy.write_text(f"#!/bin/sh\n[ \"$1\" = - ] || printf '%s\\n' \"$*\" >>{seen}\n"
                   f"exec {sys.executable} \"$@\"\n")
    spy.chmod(0o755)
    (job.dump).mkdir(parents=True)
    (job.dump / "plan.json").write_text("{}")
    job.stage("plan", ROLLBACK_PYTHON=str(spy), AT="2026-11-19T12:00:00+01:00", RULE="good", STATE=state)
    job.stage("run", ROLLBACK_PYTHON=str(spy), ON_FAILURE="revert", STATE=state)

    calls = seen.read_text().splitlines()
    plan = next(c for c in calls if " plan " in c)
    run = next(c for c in calls if " run " in c)
    assert "--at=2026-11-19T12:00:00+01:00" in plan and "--rule=good" in plan and "--date" not in plan
    assert f"--state={state}" in plan.split() and f"--state={state}" in run.split()
    assert "--on-failure=revert" in run and f"--plan={job.dump}/plan.json" in run


@pytest.mark.parametrize("params", [{"RULE": "good", "DATE": DATE}, {"RULE": "ran", "AT": "2026-11-19T12:00:00+01:00"}],
                         ids=["good", "ran-at"])
def test_rule_good_and_at_make_a_plan_that_carries_them(job: Job, params: dict[str, str]) -> None:
    assert job.stage("get").code == 0

    planned = job.stage("plan", **params)

    assert planned.code == 0, planned.err
    saved = json.loads((job.dump / "plan.json").read_text())
    assert saved["plan"]["rule"] == params["RULE"] == saved["inputs"]["rule"]
    if "AT" in params:
        assert saved["inputs"]["moment"]["at"] == "2026-11-19T11:00:00+00:00"
    assert job.tags() == NEWEST


def test_undo_of_a_named_snapshot_left_in_flight_needs_force(make_job: Callable[..., Job]) -> None:
    job = make_job(timeout=1, unhealthy_images=["*/web:306-master"])
    assert job.stage("get").code == 0
    assert job.stage("plan", DATE=DATE).code == 0
    assert job.stage("run", ON_FAILURE="stop").code == 1
    [snapshot] = job.dump.glob("snapshot-*.json")

    refused = job.stage("undo", ACTION="undo", SNAPSHOT=snapshot.name)
    assert refused.code == 3 and "--force" in job.reason() and refused.last_err == job.reason()

    forced = job.stage("undo", ACTION="undo", SNAPSHOT=snapshot.name, FORCE="true")
    assert forced.code == 0, forced.err
    assert job.tags() == NEWEST


def test_with_state_a_run_on_one_agent_is_undone_from_another(job: Job, zk: Any, tmp_path: Path) -> None:
    """STATE=zk://...: the snapshot the run took on agent A is read from the store by agent B."""
    state = zk.url(zk.chroot)
    other = tmp_path / "agent-b"
    b = Job(job.sim, other / "workspace", other / "home" / "prod",
            {**job.base, "HOME": str(other), "WORKSPACE": str(other / "workspace"),
             "ROLLBACK_HOME": str(other / "home"), "ROLLBACK_LOCK_DIR": str(other / "locks")}, job.host)
    assert job.stage("get", STATE=state).code == 0
    assert job.stage("plan", DATE=DATE, STATE=state).code == 0
    ran = job.stage("run", STATE=state, APPROVER="jane")
    assert ran.code == 0, ran.err
    assert job.tags() == AT_19
    [snapshot] = job.dump.glob("snapshot-*.json")

    assert b.stage("get", ACTION="status", STATE=state).code == 0
    looked = b.stage("status", ACTION="status", STATE=state)
    assert looked.code == 0, looked.err
    assert "jane" in (b.dump / "status.txt").read_text()  # the last run, whichever agent ran it
    undone = b.stage("undo", ACTION="undo", STATE=state)  # no SNAPSHOT: the store's last change, not a file on B

    assert undone.code == 0, undone.err
    assert f"the snapshot of the last change to prod is {snapshot}" in undone.err
    assert not (other / "home" / "prod" / "snapshots" / snapshot.name).exists()
    assert job.tags() == NEWEST
    again = b.stage("undo", ACTION="undo", STATE=state)  # the undo is not what --last undoes: twice is once
    assert again.code == 0, again.err
    assert job.tags() == NEWEST

