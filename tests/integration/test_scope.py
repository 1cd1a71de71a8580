"""How much to touch, end to end: --only, --exclude and pinned services through plan and run, against
the real registry (the sample fleet, indexed once by ``get``) and the Marathon simulator. The rule
is table-tested in tests/unit/test_scope.py."""

from __future__ import annotations

import copy
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from marathonsim import Simulator
from testbed.demo import sample_apps
from tests.fleet_support import Indexed, index_sample_fleet
from tests.unit.test_scope import FLEET


PREFIX = "t/scope/"


NAMES = [PREFIX + s for s in FLEET]


DATE = "2026-11-19"


AT_19 = {"api": "512-master", "worker": "207-master", "auth": "405-master", "web": "306-master"}


NEWEST = {"api": "515-master", "worker": "210-master", "auth": "406-master", "web": "308-master"}


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=NAMES, dump=tmp_path_factory.mktemp("get"))


@pytest.fixture
def sim(indexed: Indexed) -> Iterator[Simulator]:
    with Simulator(apps=sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}"), deploy_seconds=0.1) as server:
        yield server


@pytest.fixture
def dump(indexed: Indexed, tmp_path: Path) -> Path:
    return indexed.write_dump(tmp_path / "dump")


def tags(sim: Simulator) -> dict[str, str]:
    return {s: sim.apps[f"/ds/prod/shop/{s}"]["container"]["docker"]["image"].rsplit(":", 1)[1] for s in FLEET}


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_plan_only_one_service_shows_the_others_as_excluded(sim: Simulator, dump: Path, cli) -> None:
    r = cli("plan", f"--date={DATE}", "--env=prod", f"--dump={dump}", f"--only={PREFIX}api", "--json",
            env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    data = json.loads(r.out)
    by = {s["service"]: s for s in data["services"]}
    assert [s["service"] for s in data["services"]] == NAMES
    assert by[PREFIX + "api"]["action"] == "change" and by[PREFIX + "api"]["tag"] == "512-master"
    for name in FLEET[1:]:
        entry = by[PREFIX + name]
        assert (entry["action"], entry["target"], entry["reason"]) == ("excluded", None, "not named in --only")
        assert entry["current"].endswith(f"/{PREFIX}{name}:{NEWEST[name]}")  # read, shown, left alone
        assert entry["app_id"] == f"/ds/prod/shop/{name}"
    assert data["changes"] == 1
    assert data["scope"]["only"] == [PREFIX + "api"] and data["scope"]["in_scope"] == [PREFIX + "api"]
    assert data["scope"]["excluded"] == NAMES[1:]
    assert [r for r in sim.requests if r["method"] != "GET"] == []


def test_run_only_one_service_changes_only_it_and_report_junit_and_slack_say_what_was_in_scope(
        sim: Simulator, dump: Path, cli, slack_recorder: Any) -> None:
    r = cli("run", f"--date={DATE}", "--env=prod", f"--dump={dump}", f"--only={PREFIX}api", "--timeout=10",
            f"--slack={slack_recorder.webhook_url}", env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    assert tags(sim) == {**NEWEST, "api": AT_19["api"]}
    puts = [req["path"] for req in sim.requests if req["method"] == "PUT"]
    assert puts == ["/v2/apps/ds/prod/shop/api"]
    assert "1 of 4 services change (rollback to 2026-11-19); 3 excluded" in r.out
    left = ", ".join(f"{PREFIX}{s} (not named in --only)" for s in FLEET[1:])
    assert f"in scope: {PREFIX}api; left out: {left}" in r.out.splitlines()
    [snapshot] = dump.glob("snapshot-*.json")
    assert [a["service"] for a in json.loads(snapshot.read_text())["apps"]] == [PREFIX + "api"]
    [report_file] = dump.glob("report-*.json")
    report = json.loads(report_file.read_text())
    assert [s["service"] for s in report["services"]] == [PREFIX + "api"]
    assert report["scope"]["only"] == [PREFIX + "api"] and report["scope"]["in_scope"] == [PREFIX + "api"]
    assert report["scope"]["excluded"] == [{"service": n, "reason": "not named in --only"} for n in NAMES[1:]]
    [junit] = dump.glob("junit-*.xml")
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("skipped"), suite.get("failures")) == ("4", "3", "0")
    skipped = {c.get("name"): c.find("skipped").get("message") for c in suite.iter("testcase")
               if c.find("skipped") is not None}
    assert skipped == {n: "excluded: not named in --only" for n in NAMES[1:]}
    assert any(p.get("name") == "scope" and p.get("value").startswith(f"in scope: {PREFIX}api;")
               for p in suite.iter("property"))
    [entry] = [json.loads(line) for line in (dump / "ledger.jsonl").read_text().splitlines()]
    # the state that worked is the whole fleet: api's new image and what the others kept running
    assert {s: i.rsplit(":", 1)[1] for s, i in entry["images"].items()} == \
        {PREFIX + s: (AT_19[s] if s == "api" else NEWEST[s]) for s in FLEET}
    messages = [str(m.body) for m in slack_recorder.wait_for(2)]
    started, finished = messages[0], messages[-1]
    assert f"In scope: {PREFIX}api." in finished and "Left out, not touched" in finished
    # the start message says it too: the team sees at once that only api is touched
    assert "started by" in started and f"In scope: {PREFIX}api." in started
    assert f"{PREFIX}web (not named in --only)" in started


def test_run_exclude_after_only_and_a_pin_leave_those_services_alone(sim: Simulator, dump: Path, cli,
                                                                      tmp_path: Path) -> None:
    config = tmp_path / "rollback.yaml"
    config.write_text(f'pinned:\n  {PREFIX}auth: "hotfix 1234 must stay"\n')
    r = cli("run", f"--date={DATE}", "--env=prod", f"--dump={dump}", f"--exclude={PREFIX}web", f"--config={config}",
            "--timeout=10", env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    assert tags(sim) == {"api": AT_19["api"], "worker": AT_19["worker"], "auth": NEWEST["auth"], "web": NEWEST["web"]}
    assert "excluded: pinned: hotfix 1234 must stay" in r.out
    assert "excluded: named in --exclude" in r.out


def test_a_pinned_service_changes_when_only_names_it(sim: Simulator, dump: Path, cli, tmp_path: Path) -> None:
    config = tmp_path / "rollback.yaml"
    config.write_text(f"pinned: [{PREFIX}auth]\n")
    r = cli("plan", f"--date={DATE}", "--env=prod", f"--dump={dump}", f"--only={PREFIX}auth", f"--config={config}",
            "--json", env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    by = {s["service"]: s for s in json.loads(r.out)["services"]}
    assert by[PREFIX + "auth"]["action"] == "change" and by[PREFIX + "auth"]["pinned"] == ""
    assert "(pinned; named in --only)" in by[PREFIX + "auth"]["reason"]


@pytest.mark.parametrize("command", ["plan", "run"])
def test_only_and_exclude_that_leave_nothing_exit_0_and_touch_nothing(sim: Simulator, dump: Path, cli,
                                                                     command: str) -> None:
    before = files(dump)
    r = cli(command, f"--date={DATE}", "--env=prod", f"--dump={dump}", f"--only={PREFIX}api",
            f"--exclude={PREFIX}api", env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    assert r.out.strip() == f"nothing to do: --only={PREFIX}api and --exclude={PREFIX}api leave no service in scope"
    assert sim.requests == [] and files(dump) == before


BAD = {
    "only-unknown": (("--only={p}api,{p}payments",), 2, "--only names {p}payments, not a service of rollback.json; "
                                                        "known services: {p}api, {p}worker, {p}auth, {p}web"),
    "exclude-unknown": (("--exclude=nope",), 2, "--exclude names nope, not a service of rollback.json"),
    "only-empty-item": (("--only={p}api,,{p}web",), 2, "--only must be a comma-separated list of service names"),
    "only-empty": (("--only=",), 2, "--only must be a comma-separated list of service names"),
    "exclude-duplicate": (("--exclude={p}web,{p}web",), 2, "--exclude names '{p}web' twice"),
    "only-space": (("--only={p}my api",), 2, "is not a valid service name"),
    "only-path": (("--only=../../etc/passwd",), 2, "'../../etc/passwd' is not a valid service name"),
    "only-absolute": (("--only=/etc/passwd",), 2, "'/etc/passwd' is not a valid service name"),
    "pinned-unknown": (("--config={config}",), 2, "config 'pinned' names payments, not a service of rollback.json"),
}


@pytest.mark.parametrize("command", ["plan", "run"])
@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_scope_is_one_error_line_and_nothing_is_read_from_marathon(sim: Simulator, dump: Path, cli,
                                                                       tmp_path: Path, case: str,
                                                                       command: str) -> None:
    extra, code, message = BAD[case]
    config = tmp_path / "rollback.yaml"
    config.write_text("pinned:\n  payments: hotfix\n")
    before = files(dump)
    argv = [a.format(p=PREFIX, config=config) for a in extra]
    r = cli(command, f"--date={DATE}", "--env=prod", f"--dump={dump}", *argv, env={"MARATHON_URL": sim.url})

    assert r.code == code
    errors = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message.format(p=PREFIX) in errors[0], r.err
    assert r.out == ""
    assert sim.requests == [], "bad input must not read Marathon"
    assert files(dump) == before


def test_run_to_last_good_takes_exclude_and_checks_names_against_the_ledger(sim: Simulator, dump: Path, cli) -> None:
    first = cli("run", f"--date={DATE}", "--env=prod", f"--dump={dump}", "--timeout=10", env={"MARATHON_URL": sim.url})
    assert first.code == 0, first.err
    for name in FLEET:  # then someone puts the newest releases back, outside the tool
        app = sim.apps[f"/ds/prod/shop/{name}"]
        container = copy.deepcopy(app["container"])
        container["docker"]["image"] = container["docker"]["image"].rsplit(":", 1)[0] + ":" + NEWEST[name]
        resp = requests.put(f"{sim.url}/v2/apps{app['id']}", json={"container": container}, timeout=5)
        assert resp.status_code == 200, resp.text
    deadline = time.monotonic() + 10
    while sim.deployments and time.monotonic() < deadline:
        time.sleep(0.05)

    bad = cli("run", "--to=last-good", "--env=prod", f"--dump={dump}", "--only=nope", env={"MARATHON_URL": sim.url})
    assert bad.code == 2 and "--only names nope, not a service of the ledger's last good state" in bad.err

    r = cli("run", "--to=last-good", "--env=prod", f"--dump={dump}", f"--exclude={PREFIX}web", "--timeout=10",
            env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    assert tags(sim) == {**AT_19, "web": NEWEST["web"]}
    assert f"left out: {PREFIX}web (named in --exclude)" in r.out


def test_a_selection_is_checked_together_with_the_services_it_leaves_as_they_are(indexed: Indexed, dump: Path,
                                                                                  cli) -> None:
    repo = f"{indexed.host}/{PREFIX}"
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    versions = {"api": "2026-11-20T10:00:00Z", "web": "2026-11-20T11:00:00Z"}
    for app in apps:
        app["version"] = versions.get(app["id"].rsplit("/", 1)[1], "2026-11-15T08:00:00Z")
    history = {  # api ran 512-master until 10:00 on the 20th; web's 308-master came at 11:00
        "/ds/prod/shop/api": [{"version": "2026-11-18T18:00:00Z", "image": f"{repo}api:510-master"},
                              {"version": "2026-11-19T12:00:00Z", "image": f"{repo}api:512-master"}],
        "/ds/prod/shop/web": [{"version": "2026-11-18T08:00:00Z", "image": f"{repo}web:305-master"}],
    }
    with Simulator(apps=apps, history=history) as server:
        alone = cli("plan", f"--date={DATE}", "--env=prod", f"--dump={dump}", f"--only={PREFIX}api", "--json",
                    env={"MARATHON_URL": server.url})
        with_web = cli("plan", f"--date={DATE}", "--env=prod", f"--dump={dump}", f"--only={PREFIX}api",
                       f"--exclude={PREFIX}worker", "--json", env={"MARATHON_URL": server.url})

    assert alone.code == 0, alone.err
    checks = json.loads(alone.out)["checks"]
    [together] = [c for c in checks if c["kind"] == "never-together"]
    assert PREFIX + "api" in together["service"] and PREFIX + "web" in together["service"], together
    assert "308-master (left as it is)" in together["detail"] and "512-master" in together["detail"]
    assert not [c for c in checks if c["kind"] != "never-together" and c["service"] != PREFIX + "api"], checks
    assert with_web.code == 0 and [c["kind"] for c in json.loads(with_web.out)["checks"]].count("never-together") == 1


def test_plan_json_that_leaves_nothing_is_a_plan_with_every_service_excluded(sim: Simulator, dump: Path,
                                                                             cli) -> None:
    """Every plan --json has the same top-level keys, the empty one too; exit 0, nothing read or written."""
    normal = cli("plan", f"--date={DATE}", "--env=prod", f"--dump={dump}", "--json", env={"MARATHON_URL": sim.url})
    assert normal.code == 0, normal.err
    asked, before = len(sim.requests), files(dump)
    r = cli("plan", f"--date={DATE}", "--env=prod", f"--dump={dump}", f"--only={PREFIX}api",
            f"--exclude={PREFIX}api", "--rule=ran", "--json", env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    plan = json.loads(r.out)
    assert set(json.loads(normal.out)) <= set(plan)
    assert plan["rule"] == "ran" and plan["checks"] == [] and plan["changes"] == 0
    assert plan["state"] == "NOTHING_TO_DO" and plan["message"].startswith("nothing to do: ")
    assert plan["scope"]["in_scope"] == [] and plan["scope"]["excluded"] == [s["service"] for s in plan["services"]]
    by = {s["service"]: (s["action"], s["reason"], s["target"]) for s in plan["services"]}
    assert by == {PREFIX + "api": ("excluded", "named in --exclude", None),
                  **{PREFIX + s: ("excluded", "not named in --only", None) for s in ("worker", "auth", "web")}}
    assert sim.requests[asked:] == [] and files(dump) == before
