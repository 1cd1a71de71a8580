"""`plan --out` then `run --plan`: the approved plan is the executed plan, or nothing runs.

The real registry and `get` (once per module), then the Marathon simulator per test. The story of
the Jenkins approval: plan, (approve), run exactly that file; a deploy in between makes it stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from marathonsim import Simulator
from tests.fleet_support import Indexed, deploy_by_hand, index_sample_fleet

PREFIX = "t/plan-file/"
SERVICES = ["api", "worker", "auth", "web"]
NEWEST = {"api": "515-master", "worker": "210-master", "auth": "406-master", "web": "308-master"}
AT_19 = {"api": "512-master", "worker": "207-master", "auth": "405-master", "web": "306-master"}
DATE = "2026-11-19"
USER, PASSWORD = "ops", "pw-planfile-Q7v!m2"


def app_id(name: str) -> str:
    return f"/ds/prod/shop/{name}"


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[PREFIX + s for s in SERVICES],
                              dump=tmp_path_factory.mktemp("get"))


@dataclass
class Stage:
    sim: Simulator
    dump: Path
    env: dict[str, str]
    indexed: Indexed

    @property
    def plan_file(self) -> Path:
        return self.dump / "plan.json"

    def tags(self) -> dict[str, str]:
        return {n: self.sim.apps[app_id(n)]["container"]["docker"]["image"].rsplit(":", 1)[1] for n in SERVICES}

    def tool_puts(self) -> list[str]:
        return [r["path"] for r in self.sim.requests if r["method"] == "PUT"]

    def deploy_by_hand(self, name: str, tag: str) -> None:
        """Someone deploys between the approval and the run, straight through Marathon's API."""
        deploy_by_hand(self.sim, app_id(name), self.indexed.image(name, tag), (USER, PASSWORD))
        self.sim.reset_requests()

    def report(self) -> dict[str, Any]:
        return json.loads(max(self.dump.glob("report-*.json"), key=lambda p: p.stat().st_mtime_ns).read_text())


@pytest.fixture
def make_stage(indexed: Indexed, tmp_path: Path) -> Iterator[Callable[..., Stage]]:
    sims: list[Simulator] = []

    def make(**options: Any) -> Stage:
        apps = [{"id": app_id(n), "instances": 1, "cpus": 0.1, "mem": 64,
                 "container": {"type": "DOCKER", "docker": {"image": indexed.image(n, NEWEST[n])}},
                 "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}]} for n in SERVICES]
        sim = Simulator(apps=apps, auth=(USER, PASSWORD), deploy_seconds=0.1, **options).start()
        sims.append(sim)
        dump = indexed.write_dump(tmp_path / f"dump{len(sims)}")
        env = {"MARATHON_URL": sim.url, "MARATHON_USER": USER, "MARATHON_PASSWORD": PASSWORD, "BUILD_USER": "jane"}
        return Stage(sim, dump, env, indexed)

    yield make
    for sim in sims:
        sim.stop()


@pytest.fixture
def stage(make_stage: Callable[..., Stage]) -> Stage:
    return make_stage()


def plan(s: Stage, cli: Any, *extra: str) -> Any:
    r = cli("plan", f"--date={DATE}", "--env=prod", f"--dump={s.dump}", f"--out={s.plan_file}", *extra, env=s.env)
    assert r.code == 0, r.err
    s.sim.reset_requests()
    return r


def run(s: Stage, cli: Any, *extra: str, timeout: str = "5") -> Any:
    return cli("run", f"--plan={s.plan_file}", "--env=prod", f"--dump={s.dump}", f"--timeout={timeout}", *extra,
               env=s.env)


def test_run_plan_carries_out_the_saved_plan_and_says_how_to_undo_it(stage: Stage, cli: Any) -> None:
    shown = plan(stage, cli)
    document = json.loads(stage.plan_file.read_text())
    assert document["format"] == "fleetrewind-plan/1"
    assert set(document["inputs"]["versions"]) == {PREFIX + n for n in SERVICES}
    assert document["inputs"]["rule"] == "built" and document["inputs"]["moment"]["date"] == DATE
    assert stage.tags() == NEWEST  # planning changes nothing

    r = run(stage, cli)

    assert r.code == 0, r.err
    assert stage.tags() == AT_19
    assert shown.out.splitlines()[0] in r.out  # the table shown at approval is the one carried out
    report = stage.report()
    assert report["state"] == "SUCCEEDED" and report["undo"] == f"rollback.py undo --snapshot={report['snapshot']}"
    assert r.out.rstrip().splitlines()[-1] == f"to undo: {report['undo']}"


def test_a_stale_plan_is_refused_after_a_deploy_between_approval_and_run(stage: Stage, cli: Any) -> None:
    plan(stage, cli)
    stage.deploy_by_hand("auth", "405-master")  # a deploy lands while the approver reads the plan
    version_now = stage.sim.apps[app_id("auth")]["version"]

    r = run(stage, cli)

    assert r.code == 3
    last = r.err.rstrip().splitlines()[-1]
    assert last.startswith("error: the plan plan.json is stale: ")
    assert f"{PREFIX}auth ({app_id('auth')}) is at version {version_now}" in last
    assert "api" not in last.split("stale: ", 1)[1].replace(f"{PREFIX}auth", "")  # only the app that moved
    assert stage.tool_puts() == []
    assert stage.tags() == {**NEWEST, "auth": "405-master"}
    assert not list(stage.dump.glob("snapshot-*.json"))


def test_a_plan_is_refused_when_rollback_json_was_regenerated_with_other_content(stage: Stage, cli: Any) -> None:
    plan(stage, cli)
    index = json.loads((stage.dump / "rollback.json").read_text())
    index["generated_at"] = "2026-12-01T00:00:00Z"  # a new get of the same releases: still the same input
    (stage.dump / "rollback.json").write_text(json.dumps(index))
    same = run(stage, cli, "--on-failure=stop")
    assert same.code == 0, same.err
    stage.sim.reset_requests()

    plan(stage, cli)
    index["rollbacks"].pop(DATE)
    (stage.dump / "rollback.json").write_text(json.dumps(index))

    r = run(stage, cli)

    assert r.code == 3
    assert "rollback.json changed since it was made" in r.err.rstrip().splitlines()[-1]
    assert stage.tool_puts() == []


@pytest.mark.parametrize("alter", ["target", "not-a-plan", "digest"])
def test_an_altered_file_or_not_a_plan_is_exit_2_and_changes_nothing(stage: Stage, cli: Any, alter: str) -> None:
    plan(stage, cli)
    document = json.loads(stage.plan_file.read_text())
    if alter == "target":
        document["plan"]["steps"][0]["target"] = stage.indexed.image("api", "999-master")
    elif alter == "digest":
        document["digest"] = "sha256:" + "0" * 64
    else:
        document = json.loads((stage.dump / "rollback.json").read_text())
    stage.plan_file.write_text(json.dumps(document))

    r = run(stage, cli)

    assert r.code == 2
    assert "altered" in r.err or "is not a plan file" in r.err
    assert stage.sim.requests == [] and stage.tags() == NEWEST


def test_a_plan_for_another_env_or_with_scope_flags_is_exit_2(stage: Stage, cli: Any) -> None:
    plan(stage, cli)
    other = cli("run", f"--plan={stage.plan_file}", "--env=stage", f"--dump={stage.dump}", env=stage.env)
    narrowed = cli("run", f"--plan={stage.plan_file}", "--env=prod", "--only=" + PREFIX + "api", env=stage.env)
    both = cli("run", f"--plan={stage.plan_file}", f"--date={DATE}", "--env=prod", env=stage.env)

    assert other.code == 2 and "made for env 'prod', not 'stage'" in other.err
    assert narrowed.code == 2 and "drop --only" in narrowed.err
    assert both.code == 2
    assert stage.sim.requests == [] and stage.tags() == NEWEST


def test_a_failed_run_ends_with_its_reason_on_stderr_and_undo_on_stdout(make_stage: Callable[..., Stage],
                                                                        cli: Any) -> None:
    s = make_stage(unhealthy_images=["*/web:306-master"])
    plan(s, cli)

    r = run(s, cli, timeout="1")

    assert r.code == 1
    assert r.err.rstrip().splitlines()[-1].startswith(f"error: run ended FAILED: {PREFIX}web unhealthy")
    report = s.report()
    assert r.out.rstrip().splitlines()[-1] == f"to undo: {report['undo']}"
    assert report["summary"]["failed"] == 1


def test_a_reverted_run_counts_its_failure_and_says_rolled_back(make_stage: Callable[..., Stage], cli: Any) -> None:
    s = make_stage(unhealthy_images=["*/web:306-master"])
    plan(s, cli)

    r = run(s, cli, "--on-failure=revert", timeout="1")

    assert r.code == 1
    report = s.report()
    assert report["state"] == "ROLLBACK_COMPLETED"
    assert report["summary"]["failed"] == 1 and report["summary"]["rolled_back"] == 4
    assert report["summary"]["changed"] == 0
    assert "ROLLBACK_COMPLETED: 0 changed, 1 failed, 4 rolled back" in r.out
    assert r.err.rstrip().splitlines()[-1].startswith("error: run ended ROLLBACK_COMPLETED: ")
    assert s.tags() == NEWEST


def test_a_plan_with_nothing_in_scope_is_saved_and_runs_as_nothing_to_do(stage: Stage, cli: Any) -> None:
    plan(stage, cli, f"--only={PREFIX}api", f"--exclude={PREFIX}api")
    assert json.loads(stage.plan_file.read_text())["inputs"]["versions"] == {}

    r = run(stage, cli)

    assert r.code == 0, r.err
    assert stage.tool_puts() == [] and stage.tags() == NEWEST
    assert stage.report()["state"] == "NOTHING_TO_DO" and stage.report()["undo"] is None
