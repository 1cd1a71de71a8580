"""How much to touch: --only, --exclude and pinned services, from the pure rule to a run.

The rule is table-tested; plan and run go through ``main()`` against the real registry (the
sample fleet, indexed once by ``get``) and the Marathon simulator.
"""

from __future__ import annotations

import copy
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from fleetrewind.errors import UsageError
from fleetrewind.model.plan import CHANGE, EXCLUDED, Plan, Step
from fleetrewind.planning.build import render_table, scoped
from fleetrewind.model.scope import Scope
from fleetrewind.planning.scope import check_known, nothing_left, parse_pinned, parse_scope_flag, select
from marathonsim import Simulator
from testbed.demo import sample_apps
from tests.fleet_support import Indexed, index_sample_fleet

FLEET = ("api", "worker", "auth", "web")


# --- the rule, pure ------------------------------------------------------------------------------

@pytest.mark.parametrize("only, exclude, pinned, selected, left_out", [
    (None, (), {}, FLEET, {}),
    (("api",), (), {}, ("api",), {"worker": "not named in --only", "auth": "not named in --only",
                                  "web": "not named in --only"}),
    (("web", "api"), (), {}, ("api", "web"), {"worker": "not named in --only", "auth": "not named in --only"}),
    (None, ("web",), {}, ("api", "worker", "auth"), {"web": "named in --exclude"}),
    # --exclude applies after --only
    (("api", "web"), ("web",), {}, ("api",), {"worker": "not named in --only", "auth": "not named in --only",
                                              "web": "named in --exclude"}),
    # a pin keeps a service out...
    (None, (), {"auth": "hotfix 1234 must stay"}, ("api", "worker", "web"), {"auth": "pinned: hotfix 1234 must stay"}),
    (None, (), {"auth": ""}, ("api", "worker", "web"), {"auth": "pinned (name it in --only to change it)"}),
    # ... unless --only names it; --only naming others leaves it out as not named
    (("auth",), (), {"auth": "hotfix"}, ("auth",), {"api": "not named in --only", "worker": "not named in --only",
                                                    "web": "not named in --only"}),
    (("api",), (), {"auth": "hotfix"}, ("api",), {"worker": "not named in --only", "auth": "not named in --only",
                                                  "web": "not named in --only"}),
    # --exclude wins over --only naming a pinned service
    (("auth", "api"), ("auth",), {"auth": "hotfix"}, ("api",),
     {"worker": "not named in --only", "auth": "named in --exclude", "web": "not named in --only"}),
    (None, ("worker",), {"auth": "x"}, ("api", "web"), {"worker": "named in --exclude", "auth": "pinned: x"}),
    (("api",), ("api",), {}, (), {s: ("named in --exclude" if s == "api" else "not named in --only") for s in FLEET}),
], ids=["all", "only-one", "only-keeps-fleet-order", "exclude-one", "exclude-after-only", "pin-with-reason",
        "pin-without-reason", "pin-named-in-only", "pin-not-named-in-only", "exclude-beats-only-and-pin",
        "exclude-and-pin", "nothing-left"])
def test_the_selection_rule(only: tuple[str, ...] | None, exclude: tuple[str, ...], pinned: dict[str, str],
                            selected: tuple[str, ...], left_out: dict[str, str]) -> None:
    selection = select(FLEET, Scope(only=only, exclude=exclude, pinned=pinned))

    assert selection.selected == selected
    assert dict(selection.left_out) == left_out
    assert list(selection.left_out) == [s for s in FLEET if s in left_out]  # fleet order


@pytest.mark.parametrize("value, message", [
    ("", "--only must be a comma-separated list of service names"),
    ("api,,web", "--only must be a comma-separated list of service names (found: 'api,,web')"),
    ("api,", "--only must be a comma-separated list"),
    ("api,web,api", "--only names 'api' twice"),
    ("my api", "--only: 'my api' is not a valid service name"),
    ("../etc/passwd", "--only: '../etc/passwd' is not a valid service name"),
    ("/api", "--only: '/api' is not a valid service name"),
    ("api\\web", "is not a valid service name"),
    ("API", "'API' is not a valid service name"),
])
def test_bad_names_are_refused_with_the_value(value: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_scope_flag("--only", value)
    assert message in str(err.value)


def test_names_are_split_and_trimmed_and_paths_of_repositories_are_names() -> None:
    assert parse_scope_flag("--exclude", "api, t/shop/web") == ("api", "t/shop/web")
    assert parse_scope_flag("--exclude", None) is None


@pytest.mark.parametrize("raw, pinned", [
    (None, {}),
    (["auth", "web"], {"auth": "", "web": ""}),
    ({"payments": "hotfix 1234 must stay", "web": None}, {"payments": "hotfix 1234 must stay", "web": ""}),
])
def test_pinned_takes_a_list_or_a_map_of_reasons(raw: Any, pinned: dict[str, str]) -> None:
    assert parse_pinned(raw) == pinned


@pytest.mark.parametrize("raw, message", [
    ("auth", "config 'pinned' must be a list of services or a map of service to reason"),
    (["auth", "auth"], "config 'pinned' names 'auth' twice"),
    ({"auth": 3}, "config 'pinned' must name services with an optional reason string"),
    (["Auth Service"], "'Auth Service' is not a valid service name"),
])
def test_bad_pins_are_refused(raw: Any, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_pinned(raw)
    assert message in str(err.value)


@pytest.mark.parametrize("scope, message", [
    (Scope(only=("api", "bogus")), "--only names bogus, not a service of rollback.json; "
                                   "known services: api, worker, auth, web"),
    (Scope(exclude=("nope", "zap")), "--exclude names nope, zap, not a service of rollback.json"),
    (Scope(pinned={"payments": "x"}), "config 'pinned' names payments, not a service of rollback.json"),
])
def test_a_name_outside_the_fleet_lists_the_known_ones(scope: Scope, message: str) -> None:
    with pytest.raises(UsageError) as err:
        check_known(scope, FLEET)
    assert str(err.value).startswith(message)


def test_pins_of_services_outside_a_partial_list_do_not_apply_when_told_so() -> None:
    scope = Scope(pinned={"payments": "hotfix"})
    check_known(scope, ("api", "web"), source="the ledger's last good state", pins=False)
    with pytest.raises(UsageError):
        check_known(scope, ("api", "web"))


def test_nothing_left_says_which_flags_left_nothing() -> None:
    scope = Scope(only=("api",), exclude=("api",))
    assert nothing_left(scope, select(FLEET, scope)) == \
        "nothing to do: --only=api and --exclude=api leave no service in scope"
    pinned = Scope(pinned={s: "" for s in FLEET})
    assert nothing_left(pinned, select(FLEET, pinned)) == "nothing to do: the pinned services leave no service in scope"


def _plan() -> Plan:
    steps = tuple(Step(s, f"/ds/prod/{s}", f"r/{s}:2", f"r/{s}:1", CHANGE, "released that day") for s in FLEET)
    return Plan(env="prod", date="2026-11-19", steps=steps, waves=(FLEET,))


def test_a_scoped_plan_changes_only_the_selection_and_knows_the_whole_resulting_fleet() -> None:
    scope = Scope(exclude=("web",), pinned={"auth": "hotfix 1234"})
    plan = scoped(_plan(), select(FLEET, scope), scope, left_out={"web": ("/ds/prod/web", "r/web:9")})

    assert [s.service for s in plan.changes()] == ["api", "worker"]
    assert [(s.service, s.action, s.target, s.reason, s.pinned) for s in plan.excluded()] == [
        ("auth", EXCLUDED, None, "pinned: hotfix 1234", "hotfix 1234"),
        ("web", EXCLUDED, None, "named in --exclude", None)]
    assert plan.in_scope() == ["api", "worker"]
    assert plan.resulting_images() == {"api": "r/api:1", "worker": "r/worker:1", "auth": "r/auth:2", "web": "r/web:9"}
    table = render_table(plan)
    assert "excluded: pinned: hotfix 1234" in table
    assert table.splitlines()[-1] == "2 of 4 services change (rollback to 2026-11-19); 2 excluded, rule: built"


def test_a_pinned_service_named_in_only_changes_and_the_plan_still_shows_its_pin() -> None:
    scope = Scope(only=("auth",), pinned={"auth": "hotfix 1234"})
    plan = scoped(_plan(), select(FLEET, scope), scope)

    [step] = plan.changes()
    assert (step.service, step.pinned) == ("auth", "hotfix 1234")
    assert step.reason == "released that day (pinned: hotfix 1234; named in --only)"


# --- plan and run through main(), against the real registry and the simulator --------------------

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


def test_deploy_takes_neither_only_nor_exclude(cli) -> None:
    for flag in ("--only=api", "--exclude=api"):
        r = cli("deploy", "--env=prod", "--image=api=1-master", flag)
        assert r.code == 2
        assert f"deploy does not accept {flag.split('=')[0]}" in r.err


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
