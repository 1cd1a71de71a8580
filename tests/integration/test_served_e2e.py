"""The third witness end to end: verdicts, --rule=good, --at, failed-before, on the real registry and the simulator.

The seeded history (UTC):
- api: 510-master from the 18th 19:00; 512-master deployed on the 19th at 23:50, whose tasks were killed for
  failed health checks at 23:58 and never served; put back on 510-master by hand at 00:20 on the 20th.
- worker: 207-master held only 2.5 minutes on the 18th (15:00 to 15:02:30), then 204-master again.
- auth: scaled every ten minutes on the 19th, so with zk_max_versions 5 only scale-only versions are kept;
  their lastConfigChangeAt (the 17th, 14:00) proves 402-master was in place before them.
- web: plain.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from fleetrewind.cli import main
from marathonsim import Simulator
from tests.fleet_support import Indexed, index_sample_fleet

PREFIX = "t/served/"
SERVICES = ["api", "worker", "auth", "web"]
CURRENT = {"api": ("510-master", "2026-11-20T00:20:00Z"), "worker": ("210-master", "2026-11-20T08:30:00Z"),
           "auth": ("402-master", "2026-11-19T11:00:00Z"), "web": ("308-master", "2026-11-20T06:30:00Z")}


def app_id(name: str) -> str:
    return f"/ds/prod/shop/{name}"


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[PREFIX + s for s in SERVICES],
                              dump=tmp_path_factory.mktemp("get"))


def apps_of(ix: Indexed) -> list[dict[str, Any]]:
    return [{"id": app_id(name), "instances": 2, "cpus": 0.1, "mem": 64, "version": CURRENT[name][1],
             "container": {"type": "DOCKER", "docker": {"image": ix.image(name, CURRENT[name][0])}}}
            for name in SERVICES]


def history_of(ix: Indexed) -> dict[str, list[dict[str, Any]]]:
    scaled = [{"version": f"2026-11-19T10:{m}0:00Z", "instances": 3 + i % 2} for i, m in enumerate(range(6))]
    return {
        app_id("api"): [{"version": "2026-11-17T09:30:00Z", "image": ix.image("api", "506-master")},
                        {"version": "2026-11-18T19:00:00Z", "image": ix.image("api", "510-master")},
                        {"version": "2026-11-19T23:50:00Z", "image": ix.image("api", "512-master"),
                         "task_failure": "2026-11-19T23:58:00Z"}],
        app_id("worker"): [{"version": "2026-11-17T11:00:00Z", "image": ix.image("worker", "204-master")},
                           {"version": "2026-11-18T15:00:00Z", "image": ix.image("worker", "207-master")},
                           {"version": "2026-11-18T15:02:30Z", "image": ix.image("worker", "204-master")}],
        app_id("auth"): [{"version": "2026-11-17T14:00:00Z", "image": ix.image("auth", "402-master")}, *scaled],
        app_id("web"): [{"version": "2026-11-17T18:30:00Z", "image": ix.image("web", "303-master")},
                        {"version": "2026-11-18T08:00:00Z", "image": ix.image("web", "305-master")}],
    }


@dataclass
class World:
    sim: Simulator
    dump: Path
    env: dict[str, str]
    ix: Indexed

    def cli(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), environ={**os.environ, **self.env}, stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    def plan(self, *extra: str) -> dict[str, Any]:
        code, out, err = self.cli("plan", "--env=prod", f"--dump={self.dump}", "--json", *extra)
        assert code == 0, err
        data: dict[str, Any] = json.loads(out)
        return data

    @staticmethod
    def service(plan: dict[str, Any], name: str) -> dict[str, Any]:
        found: dict[str, Any] = next(s for s in plan["services"] if s["service"] == PREFIX + name)
        return found

    def tag(self, plan: dict[str, Any], name: str) -> str | None:
        target = self.service(plan, name)["target"]
        return target.rsplit(":", 1)[1] if target else None

    @staticmethod
    def checks(plan: dict[str, Any], name: str) -> dict[str, str]:
        return {c["kind"]: c["detail"] for c in plan["checks"] if c["service"] == PREFIX + name}


@pytest.fixture
def world(indexed: Indexed, tmp_path: Path) -> Iterator[World]:
    sim = Simulator(apps=apps_of(indexed), history=history_of(indexed), max_versions=5, deploy_seconds=0.1,
                    unhealthy_images=["*:512-master"]).start()
    dump = indexed.write_dump(tmp_path / "dump")
    env = {"MARATHON_URL": sim.url, "ROLLBACK_CACHE_DIR": str(tmp_path / "cache"), "BUILD_USER": "alice"}
    yield World(sim, dump, env, indexed)
    sim.stop()


def test_a_hand_revert_across_midnight_ran_flags_it_good_skips_it(world: World) -> None:
    ran = world.plan("--date=2026-11-19", "--rule=ran")
    assert world.tag(ran, "api") == "512-master"  # what Marathon held at 23:59:59
    assert world.service(ran, "api")["verdict"] == "failed"
    [proof] = world.service(ran, "api")["verdict_evidence"]  # source and time (the index's zone), what
    assert (proof["source"], proof["at"]) == ("marathon", "2026-11-19T23:58:00+00:00")
    assert "never served healthy" in world.checks(ran, "api")["never-healthy"]
    assert "23:58" in world.checks(ran, "api")["never-healthy"]  # the lastTaskFailure that proves it

    good = world.plan("--date=2026-11-19", "--rule=good")
    assert good["rule"] == "good" and world.tag(good, "api") == "510-master"
    assert world.service(good, "api")["verdict"] == "unproven"  # held a day, no health evidence then
    assert "unproven" in world.checks(good, "api")
    assert "never-healthy" not in world.checks(good, "api")


def test_a_version_held_two_and_a_half_minutes_is_short_lived(world: World) -> None:
    ran = world.plan("--at=2026-11-18T15:01:00Z", "--rule=ran")
    assert world.tag(ran, "worker") == "207-master"
    assert world.service(ran, "worker")["verdict"] == "short-lived"
    assert "held 2 min" in world.checks(ran, "worker")["short-lived"]
    good = world.plan("--at=2026-11-18T15:01:00Z", "--rule=good")
    assert world.tag(good, "worker") == "204-master"  # never the short-lived one


def test_at_between_two_versions_of_one_day(world: World) -> None:
    before = world.plan("--at=2026-11-18T16:01:00+01:00", "--rule=ran")  # 15:01 UTC
    after = world.plan("--at=2026-11-18T15:05:00Z", "--rule=ran")
    assert (world.tag(before, "worker"), world.tag(after, "worker")) == ("207-master", "204-master")
    assert before["at"] == "2026-11-18T15:01:00+00:00" and before["date"] == "2026-11-18"
    code, out, err = world.cli("run", "--env=prod", f"--dump={world.dump}", "--at=2026-11-18T15:01:00Z",
                               "--rule=good", "--dry-run", "--json")
    assert code == 0, err
    assert json.loads(out)["at"] == "2026-11-18T15:01:00+00:00"  # run takes a moment too
    code, out, err = world.cli("plan", "--env=prod", f"--dump={world.dump}", "--at=2026-11-18T15:01:00")
    assert code == 2 and "only --rule=ran or --rule=good can answer" in err.splitlines()[-1]  # built: days only
    code, _out, err = world.cli("plan", "--env=prod", f"--dump={world.dump}", "--rule=ran",
                                "--at=2026-11-18T15:01:00")
    assert code == 2 and "a time alone is ambiguous" in err.splitlines()[-1]


def test_a_day_without_a_build_can_be_asked_under_the_history_rules(world: World) -> None:
    code, _out, err = world.cli("plan", "--env=prod", f"--dump={world.dump}", "--date=2026-11-21")
    assert code == 2  # the build rule answers only the days rollback.json offers
    ran = world.plan("--date=2026-11-21", "--rule=ran")
    assert world.tag(ran, "api") == "510-master" and ran["at"].startswith("2026-11-21T23:59:59")
    good = world.plan("--date=2026-11-21", "--rule=good")
    assert world.tag(good, "web") == "308-master"


def test_a_scale_flooded_history_is_resolved_by_last_config_change(world: World) -> None:
    ran = world.plan("--date=2026-11-18", "--rule=ran")
    auth = world.service(ran, "auth")
    assert auth["action"] != "no-history" and world.tag(ran, "auth") == "402-master"
    assert "lastConfigChangeAt" in auth["evidence"] and "2026-11-17 14:00" in auth["evidence"]
    assert "history-short" in world.checks(ran, "auth")  # honest: the list itself does not reach it
    before = world.plan("--date=2026-11-16", "--rule=ran")  # before that config change: unknown
    assert world.service(before, "auth")["action"] == "no-history"


def test_failed_before_after_a_failed_run_names_the_run(world: World) -> None:
    built = world.plan("--date=2026-11-19")
    assert world.tag(built, "api") == "512-master"
    assert "failed when Marathon held it" in world.checks(built, "api")["failed-before"]
    code, out, err = world.cli("run", "--env=prod", f"--dump={world.dump}", "--date=2026-11-19",
                               f"--only={PREFIX}api", "--timeout=2", "--on-failure=revert")
    assert code == 1, err
    report = next(world.dump.glob("report-*.json"))
    [api] = [s for s in json.loads(report.read_text())["services"] if s["service"] == PREFIX + "api"]
    assert api["verdict"] == "failed" and api["status"] == "rolled-back"  # the report shows what served
    again = world.plan("--date=2026-11-19")
    detail = world.checks(again, "api")["failed-before"]
    assert "this tool rolled it back in run " + report.stem.removeprefix("report-") in detail
    # a deploy of that image by hand says so too (and the report carries it)
    code, out, err = world.cli("deploy", "--env=prod", f"--dump={world.dump}", f"--image={PREFIX}api=512-master",
                               "--timeout=2")
    assert code == 1 and f"check failed-before: {PREFIX}api: 512-master failed before: this tool rolled it back" in out
    code, out, err = world.cli("plan", "--env=prod", f"--dump={world.dump}", "--date=2026-11-19", "--strict",
                               f"--only={PREFIX}api", "--json")
    assert code == 3 and "--strict" in err.splitlines()[-1]  # failed-before is one of the kinds --strict refuses
    assert "failed-before" in {c["kind"] for c in json.loads(out)["checks"]}


def test_the_plan_table_shows_the_verdict(world: World) -> None:
    code, out, err = world.cli("plan", "--env=prod", f"--dump={world.dump}", "--date=2026-11-19", "--rule=ran")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith(PREFIX + "api"))
    assert "[verdict failed;" in row
    assert "check never-healthy: " + PREFIX + "api:" in out
    page = (world.dump / "rollback.html").read_text()
    assert f"What served (verdict of each target): {PREFIX}api <b>failed</b>" in page


def test_diff_at_a_moment_lists_what_came_after_it(world: World) -> None:
    code, out, err = world.cli("diff", "--env=prod", f"--dump={world.dump}", "--at=2026-11-19T23:00:00Z", "--json")
    assert code == 0, err
    data = json.loads(out)
    api = next(s for s in data["services"] if s["service"] == PREFIX + "api")
    assert data["from"] == "2026-11-19 23:00"
    assert [r["tag"] for r in api["releases"]] == ["515-master"]  # 512-master was built at 11:00, before
    assert [(d["at"], d["tag"]) for d in api["deployed"]] == [("2026-11-20T00:20:00Z", "510-master"),
                                                              ("2026-11-19T23:50:00Z", "512-master")]
    code, out, err = world.cli("diff", "--env=prod", f"--dump={world.dump}", "--at=2026-11-19T23:00:00")
    assert code == 2 and "a time alone is ambiguous" in err.splitlines()[-1]


def test_get_records_what_runs_and_good_uses_what_get_saw(world: World, tmp_path: Path) -> None:
    dump = tmp_path / "observed"
    args = ("get", "--repo=" + ",".join(PREFIX + s for s in SERVICES), "--env=prod", f"--dump={dump}",
            f"--registry={world.ix.registry_url}")
    dump.mkdir()
    image = world.ix.image("api", "500-master")  # built on the 15th, older than every stored version
    run = {"kind": "run", "at": "2026-11-15T10:00:00Z", "started_at": "2026-11-15T09:55:00Z", "command": "deploy",
           "env": "prod", "state": "SUCCEEDED", "images": {PREFIX + "api": image},
           "tried": {PREFIX + "api": {"image": image, "status": "succeeded", "seconds": 40.0,
                                      "finished_at": "2026-11-15T09:58:00Z", "version": "2026-11-15T09:55:01.000Z"}}}
    (dump / "ledger.jsonl").write_text(json.dumps(run) + "\n")
    for _ in range(3):  # Jenkins runs get on a schedule: the journal grows with changes, not with gets
        code, _out, err = world.cli(*args)
        assert code == 0, err
    lines = [json.loads(line) for line in (dump / "ledger.jsonl").read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["run"] + ["observation"] * 4
    code, out, err = world.cli("dates", f"--dump={dump}", "--json")
    days = {d["date"]: d for d in json.loads(out)["dates"]}
    assert days["2026-11-15"]["ran"] == [PREFIX + "api"]  # the journal reaches where Marathon's history does not
    assert days["2026-11-16"]["label"].endswith("; ran: unknown")  # neither reaches the 16th's builds
    api = next(line for line in lines if line.get("service") == PREFIX + "api")
    assert api["image"].endswith("api:510-master") and (api["healthy"], api["instances"]) == (2, 2)
    assert api["failure"]["state"] == "TASK_KILLED" and api["failure"]["version"].startswith("2026-11-19T23:50")
    code, out, err = world.cli("status", "--env=prod", f"--dump={dump}")
    assert code == 0 and "observation" not in out  # an observation is no run

    # an earlier get saw 506-master serving for an hour on the 17th: the good rule's evidence for it
    seen = {**api, "version": "2026-11-17T09:30:00.000Z", "image": api["image"].replace("510-master", "506-master"),
            "first": "2026-11-17T10:00:00.000000Z", "at": "2026-11-17T11:00:00.000000Z", "failure": None}
    with (world.dump / "ledger.jsonl").open("a") as ledger:
        ledger.write(json.dumps(seen) + "\n")
    good = world.plan("--date=2026-11-19", "--rule=good")
    assert world.tag(good, "api") == "506-master" and world.service(good, "api")["verdict"] == "healthy"
    assert "observation 2026-11-17 10:00" in world.service(good, "api")["evidence"]
    assert "unproven" not in world.checks(good, "api")
