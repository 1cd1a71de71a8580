"""The playbook for real, through ansible-runner: tags get, plan, then run with a date, on localhost,
against the real registry and the Marathon simulator (the prod inventory, endpoints overridden).

The role installs the tool into a virtualenv shared by the module's plays, runs it with argv
lists, and must never let the Marathon password reach Ansible's output or events. The first test
plays with the role's default source, this checkout, which pip builds again in every play
(docs/ansible.md, "Installation and idempotency"); the others install a wheel of the checkout
built once for the session, with its dependencies, from that folder only (--no-index).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import ansible_runner
import pytest

from marathonsim import Simulator
from testbed.fleet import SAMPLE_FLEET, populate
from tests.fleet_support import deploy_by_hand

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "ansible" / "rollback_service.yaml"
INVENTORY = ROOT / "ansible" / "inventories" / "prod"
PREFIX = "t/ansible-runner/"
SERVICES = ["api", "worker", "auth", "web"]
NEWEST = {"api": "515-master", "worker": "210-master", "auth": "406-master", "web": "308-master"}
AT_19 = {"api": "512-master", "worker": "207-master", "auth": "405-master", "web": "306-master"}
DATE = "2026-11-19"
USER, PASSWORD = "ops", "Runner-Marathon-Pw-5k2!"

pytestmark = pytest.mark.slow


@dataclass
class Played:
    status: str
    rc: int
    stdout: str
    events: list[dict[str, Any]]
    everything: str = field(repr=False)

    def task_events(self, task: str) -> list[dict[str, Any]]:
        """The result events (ok, failed, skipped) of one task."""
        return [e for e in self.events if e.get("event_data", {}).get("task") == task
                and e.get("event") in ("runner_on_ok", "runner_on_failed", "runner_on_skipped")]


@dataclass
class World:
    registry_url: str
    host: str
    sim: Simulator
    home: Path
    fetch: Path
    wheels: Path

    def tags(self) -> dict[str, str]:
        apps = self.sim.apps
        return {n: apps[f"/ds/prod/shop/{n}"]["container"]["docker"]["image"].rsplit(":", 1)[1] for n in SERVICES}

    def play(self, tags: str, *, verbosity: int = 0, checkout: bool = False, **extravars: Any) -> Played:
        """One ansible-playbook run in a temporary private_data_dir, removed afterwards; the tool from
        the session's wheel, or with ``checkout`` from the role's default source (this checkout)."""
        private = Path(tempfile.mkdtemp(prefix="runner-"))
        [wheel] = self.wheels.glob("fleetrewind-*.whl")
        install = {} if checkout else {
            "fleet_rollback_source": str(wheel),
            "fleet_rollback_constraints": str(ROOT / "requirements.txt"),
            "fleet_rollback_pip_extra_args": f"--no-index --find-links={self.wheels}",
        }
        variables = {
            **install,
            "fleet_rollback_dir": str(self.home),
            "fleet_rollback_fetch_dir": str(self.fetch),
            "fleet_rollback_services": [PREFIX + s for s in SERVICES],
            "fleet_rollback_registry": self.registry_url,
            "fleet_rollback_marathon": self.sim.url,
            "fleet_rollback_timeout": 30,
            "fleet_rollback_actor": "ansible-runner-test",
            **extravars,
        }
        envvars = {
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            "MARATHON_USER": USER,
            "MARATHON_PASSWORD": PASSWORD,  # through the environment only, never an extra var
            "ANSIBLE_NOCOLOR": "1",
        }
        try:
            runner = ansible_runner.run(private_data_dir=str(private), playbook=str(PLAYBOOK),
                                        inventory=str(INVENTORY), tags=tags, extravars=variables,
                                        envvars=envvars, verbosity=verbosity, quiet=True, timeout=600)
            stdout = runner.stdout.read()
            events = list(runner.events)
            return Played(runner.status, runner.rc, stdout, events, stdout + json.dumps(events, default=str))
        finally:
            shutil.rmtree(private, ignore_errors=True)


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tool's wheel, built once from this checkout, and its dependencies' wheels at the pinned versions."""
    folder = tmp_path_factory.mktemp("wheels")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", f"--wheel-dir={folder}",
                            "-c", str(ROOT / "requirements.txt"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-4000:]
    return folder


@pytest.fixture(scope="module")
def world(registry: Any, wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    populate(registry.url, SAMPLE_FLEET, prefix=PREFIX)
    host = registry.url.split("://", 1)[1]
    apps = [{
        "id": f"/ds/prod/shop/{name}", "instances": 1, "cpus": 0.1, "mem": 64,
        "container": {"type": "DOCKER", "docker": {"image": f"{host}/{PREFIX}{name}:{NEWEST[name]}"}},
    } for name in SERVICES]
    base = tmp_path_factory.mktemp("ansible-runner")
    with Simulator(apps=apps, auth=(USER, PASSWORD), deploy_seconds=0.2) as sim:
        yield World(registry.url, host, sim, base / "home", base / "fetch", wheels)


def _assert_no_password(played: Played, world: World) -> None:
    assert PASSWORD not in played.everything
    for path in world.fetch.rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_text(errors="replace"), path


def test_get_plan_then_run_puts_the_fleet_at_the_date(world: World) -> None:
    got = world.play("get", checkout=True)

    assert (got.status, got.rc) == ("successful", 0), got.stdout[-4000:]
    dates = json.loads((world.fetch / "dates.json").read_text())
    assert DATE in [d["date"] for d in dates["dates"]]
    assert json.loads((world.fetch / "rollback.json").read_text())["env"] == "prod"
    [shown] = got.task_events("Show the dates a rollback can go back to, newest first")
    labels = shown["event_data"]["res"]["msg"]
    assert any(label.startswith(DATE) for label in labels), labels
    assert world.tags() == NEWEST  # get changes nothing in Marathon
    _assert_no_password(got, world)

    planned = world.play("plan", checkout=True, fleet_rollback_date=DATE)

    assert (planned.status, planned.rc) == ("successful", 0), planned.stdout[-4000:]
    plan = (world.fetch / "plan.txt").read_text()  # what Jenkins shows before the approval
    assert f"4 of 4 services change (rollback to {DATE})" in plan
    assert f"{world.host}/{PREFIX}worker:207-master" in plan
    assert world.tags() == NEWEST
    _assert_no_password(planned, world)

    ran = world.play("run", verbosity=3, checkout=True, fleet_rollback_date=DATE)  # -vvv prints every command Ansible runs

    assert (ran.status, ran.rc) == ("successful", 0), ran.stdout[-4000:]
    assert world.tags() == AT_19  # worker back-filled from 2026-11-18
    [rolled] = ran.task_events("Roll the fleet back to the date")
    assert rolled["event"] == "runner_on_ok" and rolled["stdout"].startswith("changed:")  # res is censored: no_log
    # installed by get: the second play finds the virtualenv as it should be
    [installed] = ran.task_events("Install the tool into its virtualenv")
    assert installed["event_data"]["res"]["changed"] is False
    [report] = sorted(world.fetch.glob("report-*.json"))
    assert json.loads(report.read_text())["state"] == "SUCCEEDED"
    assert list(world.fetch.glob("junit-*.xml")) and list(world.fetch.glob("snapshot-*.json"))
    assert "EXEC" in ran.stdout  # really -vvv
    _assert_no_password(ran, world)
    assert not list(world.home.glob(".secrets-*"))  # the clean-up removed this run's secrets


def test_a_date_not_offered_fails_the_play_with_the_tools_message(world: World) -> None:
    before = world.tags()

    played = world.play("run", fleet_rollback_date="2026-11-30")

    assert played.status == "failed" and played.rc != 0
    [failed] = [e for e in played.events if e.get("event") == "runner_on_failed"]
    assert failed["event_data"]["task"] == "Fail with the tool's message when the rollback failed"
    message = failed["event_data"]["res"]["msg"]
    assert message.startswith("rollback run failed (exit 2): --date 2026-11-30 is not offered by rollback.json"), message
    assert "2026-11-20" in message  # the nearest dates offered
    assert message in played.stdout
    assert world.tags() == before
    _assert_no_password(played, world)
    assert not list(world.home.glob(".secrets-*"))  # removed after a failure too


def test_status_and_diff_change_nothing_and_run_with_only_touches_only_that_service(world: World) -> None:
    if not (world.fetch / "rollback.json").exists():
        assert world.play("get").rc == 0
    before = world.tags()

    looked = world.play("status,diff", fleet_rollback_diff_from="2026-11-19", fleet_rollback_diff_to="2026-11-20")

    assert (looked.status, looked.rc) == ("successful", 0), looked.stdout[-4000:]
    [status] = looked.task_events("Show what runs now, the lock and the last run")
    lines = status["event_data"]["res"]["msg"]
    assert lines[0].split() == ["SERVICE", "APP", "IMAGE", "RELEASE", "DEPLOYMENT", "INSTANCES"]
    assert any(line.startswith(f"{PREFIX}api ") and f"{before['api']} (" in line for line in lines), lines
    [diff] = looked.task_events("Show the releases per service, newest first")
    shown = diff["event_data"]["res"]["msg"]
    assert shown[-1] == "4 of 4 services have releases in that span", shown
    assert world.tags() == before
    _assert_no_password(looked, world)

    ran = world.play("run", fleet_rollback_date="2026-11-20", fleet_rollback_only=[PREFIX + "api"])

    assert (ran.status, ran.rc) == ("successful", 0), ran.stdout[-4000:]
    assert world.tags() == {**before, "api": NEWEST["api"]}
    # the session's wheel, installed by an earlier play: pip leaves a wheel of the same version as it is
    [installed] = ran.task_events("Install the tool into its virtualenv")
    assert installed["event_data"]["res"]["changed"] is False
    report = json.loads(sorted(world.fetch.glob("report-*.json"))[-1].read_text())
    assert report["scope"]["in_scope"] == [PREFIX + "api"]
    _assert_no_password(ran, world)


def test_plan_then_run_that_plan_file_then_undo_the_last_run(world: World) -> None:
    if not (world.fetch / "rollback.json").exists():
        assert world.play("get").rc == 0
    for name, tag in NEWEST.items():  # wherever the earlier tests left it: the fleet at its newest
        deploy_by_hand(world.sim, f"/ds/prod/shop/{name}", f"{world.host}/{PREFIX}{name}:{tag}", (USER, PASSWORD))
    planned = world.play("plan", fleet_rollback_date=DATE)
    assert (planned.status, planned.rc) == ("successful", 0), planned.stdout[-4000:]
    assert json.loads((world.fetch / "plan.json").read_text())["format"] == "fleetrewind-plan/1"
    # a deploy between the plan and its run: the plan is stale
    deploy_by_hand(world.sim, "/ds/prod/shop/web", f"{world.host}/{PREFIX}web:307-master", (USER, PASSWORD))

    stale = world.play("run", fleet_rollback_plan="plan.json")

    assert stale.status == "failed"
    [failed] = [e for e in stale.events if e.get("event") == "runner_on_failed"]
    assert failed["event_data"]["res"]["msg"].startswith("rollback run failed (exit 3): the plan plan.json is stale: ")
    assert world.tags() == {**NEWEST, "web": "307-master"}

    assert world.play("plan", fleet_rollback_date=DATE).rc == 0
    ran = world.play("run", fleet_rollback_plan="plan.json")

    assert (ran.status, ran.rc) == ("successful", 0), ran.stdout[-4000:]
    assert world.tags() == AT_19
    _assert_no_password(ran, world)

    undone = world.play("undo")

    assert (undone.status, undone.rc) == ("successful", 0), undone.stdout[-4000:]
    assert world.tags() == {**NEWEST, "web": "307-master"}  # exactly what ran before the run
    [put_back] = undone.task_events("Put back the images of the snapshot")
    assert put_back["event"] == "runner_on_ok" and put_back["stdout"].startswith("changed:")
    _assert_no_password(undone, world)

