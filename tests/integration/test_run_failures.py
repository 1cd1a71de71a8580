"""`run` and `undo` end to end when things go wrong: an unhealthy image, the failure policies, a
deployment in flight, a 409, an ambiguous mapping, bad credentials, Marathon down, a date not
offered, another environment's rollback.json; what the report, JUnit and snapshot then hold.
The story that goes right is in tests/integration/test_run_e2e.py, whose world this file shares."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import pytest
import requests

from tests.fleet_support import Indexed
from tests.integration.test_run_e2e import (AT_19, DATE, DEPLOY_SECONDS, NEWEST, PASSWORD, PREFIX, SERVICES,
    USER, World, app_id, fleet_apps, indexed, make_world, run_args, svc, world)


def test_an_unhealthy_image_fails_the_run_with_snapshot_and_report_and_undo_restores_every_image(
        make_world: Callable[..., World], cli) -> None:
    w = make_world(unhealthy_images=["*/web:306-master"])

    r = cli(*run_args(w, timeout="1"), env=w.env)

    assert r.code == 1
    [snapshot] = list(w.dump.glob("snapshot-*.json"))
    snap = json.loads(snapshot.read_text())
    assert {a["app_id"]: a["image"] for a in snap["apps"]} == {
        app_id(n): w.image(n, NEWEST[n]) for n in SERVICES}
    report = w.report()
    assert (report["state"], report["exit_code"], report["snapshot"]) == ("FAILED", 1, str(snapshot))
    status = {s["service"]: s for s in report["services"]}
    for name in ("api", "worker", "auth"):
        assert status[svc(name)]["status"] == "succeeded"
        assert (status[svc(name)]["from"], status[svc(name)]["to"]) == (w.image(name, NEWEST[name]),
                                                                        w.image(name, AT_19[name]))
    assert status[svc("web")]["status"] == "failed" and status[svc("web")]["failure_class"] == "unhealthy"
    assert "unhealthy" in status[svc("web")]["error"]
    assert report["summary"] == {"changed": 3, "failed": 1, "unchanged": 0, "skipped": 0, "rolled_back": 0}
    assert f"to undo: rollback.py undo --snapshot={snapshot} --force" in r.out

    # web's failed deployment is still in flight: undo must be told to override it
    refused = cli("undo", f"--snapshot={snapshot}", f"--dump={w.dump}", "--timeout=3", env=w.env)
    assert refused.code == 3 and "--force" in refused.err

    undo = cli("undo", f"--snapshot={snapshot}", "--force", f"--dump={w.dump}", "--timeout=3", env=w.env)

    assert undo.code == 0, undo.err
    assert w.tags() == NEWEST
    w.wait_idle()
    assert json.loads(snapshot.read_text()) == snap  # the snapshot undone from is kept as it was


@pytest.mark.parametrize("policy, later_wave", [
    ("stop", NEWEST),        # the default: nothing after the failed wave starts
    ("continue", AT_19),     # later waves still deploy
])
def test_on_failure_stop_and_continue(make_world: Callable[..., World], cli, policy: str,
                                      later_wave: dict[str, str]) -> None:
    w = make_world(unhealthy_images=["*/web:306-master"])
    config = w.config(f"waves:\n  - [{svc('web')}]\n  - [{svc('api')}, {svc('auth')}, {svc('worker')}]\n")

    r = cli(*run_args(w, config, f"--on-failure={policy}", timeout="1"), env=w.env)

    assert r.code == 1
    backends = {n: later_wave[n] for n in ("api", "auth", "worker")}
    assert {n: t for n, t in w.tags().items() if n != "web"} == backends
    statuses = {s["service"]: s["status"] for s in w.report()["services"]}
    assert statuses[svc("web")] == "failed"
    assert statuses[svc("api")] == ("not-started" if policy == "stop" else "succeeded")
    if policy == "stop":
        assert w.put_paths() == [f"/v2/apps{app_id('web')}"]


def test_on_failure_revert_puts_every_touched_service_back(make_world: Callable[..., World], cli) -> None:
    w = make_world(unhealthy_images=["*/web:306-master"])

    r = cli(*run_args(w, "--on-failure=revert", timeout="1"), env=w.env)

    assert r.code == 1
    assert w.tags() == NEWEST
    report = w.report()
    assert report["state"] == "ROLLBACK_COMPLETED"
    assert report["states"] == ["RUNNING", "FAILED", "ROLLING_BACK", "ROLLBACK_COMPLETED"]
    assert {s["status"] for s in report["services"]} == {"rolled-back"}


def test_a_deployment_in_flight_on_a_target_app_refuses_the_run_and_force_goes_through(
        make_world: Callable[..., World], cli) -> None:
    w = make_world(unhealthy_images=["*:999-stuck"])
    w.put_image("web", "999-stuck")  # someone's deployment that will never finish
    [stuck] = w.sim.deployments
    w.sim.reset_requests()

    refused = cli(*run_args(w), env=w.env)

    assert refused.code == 3
    assert app_id("web") in refused.err and stuck["id"] in refused.err and "--force" in refused.err
    assert w.puts() == [] and not list(w.dump.glob("snapshot-*.json"))

    forced = cli(*run_args(w, "--force"), env=w.env)

    assert forced.code == 0, forced.err
    assert w.tags() == AT_19
    assert stuck["id"] not in [d["id"] for d in w.sim.deployments]


def test_a_409_on_the_put_itself_exits_3_and_starts_nothing_after_it(world: World, cli) -> None:
    """The lock can appear between the check and the write: Marathon's 409 is a refusal, not a failure."""
    config = world.config(f"waves:\n  - [{svc('web')}]\n  - [{svc('api')}, {svc('auth')}, {svc('worker')}]\n")
    world.sim.set_fault(method="PUT", path_prefix=f"/v2/apps{app_id('web')}", fail_next=1, status=409)

    r = cli(*run_args(world, config), env=world.env)

    assert r.code == 3
    web = next(s for s in world.report()["services"] if s["service"] == svc("web"))
    assert (web["status"], web["failure_class"]) == ("failed", "locked")
    assert "wait for it, or use --force" in web["error"]
    assert world.put_paths() == [f"/v2/apps{app_id('web')}"] and world.tags() == NEWEST


def test_an_ambiguous_app_mapping_exits_2_before_any_change_and_the_config_settles_it(
        indexed: Indexed, make_world: Callable[..., World], cli) -> None:
    w = make_world()
    twin = {**fleet_apps(indexed)[0], "id": "/ds/prod/legacy/api"}
    resp = requests.put(f"{w.sim.url}/v2/apps/ds/prod/legacy/api", json=twin, auth=(USER, PASSWORD), timeout=5)
    assert resp.status_code == 201, resp.text
    w.wait_idle()
    w.sim.reset_requests()

    r = cli(*run_args(w), env=w.env)

    assert r.code == 2
    assert f"{svc('api')}: several apps match (/ds/prod/legacy/api, /ds/prod/shop/api)" in r.err
    assert w.puts() == []

    settled = cli(*run_args(w, w.config(f"apps:\n  {svc('api')}: /ds/prod/shop/api\n")), env=w.env)

    assert settled.code == 0, settled.err
    assert w.tags() == AT_19
    assert w.sim.apps["/ds/prod/legacy/api"]["container"]["docker"]["image"] == w.image("api", NEWEST["api"])


def test_run_json_prints_the_report_alone_on_stdout(world: World, cli) -> None:
    r = cli(*run_args(world, "--json"), env=world.env)

    assert r.code == 0, r.err
    report = json.loads(r.out)  # nothing but the JSON document: Ansible and Jenkins parse it whole
    assert report["state"] == "SUCCEEDED" and report["summary"]["changed"] == 4
    assert report == world.report()


def test_undo_of_a_missing_snapshot_exits_2(world: World, cli) -> None:
    r = cli("undo", f"--snapshot={world.dump / 'snapshot-20261119T000000Z.json'}", f"--dump={world.dump}",
            env=world.env)

    assert r.code == 2
    assert "does not exist" in r.err and world.sim.requests == []


def test_bad_credentials_exit_4_with_one_clear_line(world: World, cli) -> None:
    r = cli(*run_args(world), env={**world.env, "MARATHON_PASSWORD": "not-the-password"})

    assert r.code == 4
    assert r.err.strip().splitlines()[-1].startswith("error: Marathon at ")
    assert "refused the credentials (HTTP 401)" in r.err and "not-the-password" not in r.err + r.out
    assert world.puts() == []


def test_a_dcos_cluster_is_reached_through_a_token_login(make_world: Callable[..., World], cli) -> None:
    w = make_world(dcos=True)

    r = cli(*run_args(w), env={**w.env, "MARATHON_AUTH": "dcos"})

    assert r.code == 0, r.err
    assert w.tags() == AT_19
    logins = [q for q in w.sim.requests if q["path"] == "/acs/api/v1/auth/login"]
    assert len(logins) == 1 and logins[0]["json"]["uid"] == USER


def test_marathon_down_exits_4(world: World, cli) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed

    r = cli(*run_args(world), env={**world.env, "MARATHON_URL": f"http://127.0.0.1:{port}"})

    assert r.code == 4
    assert f"cannot reach Marathon at http://127.0.0.1:{port}" in r.err


def test_a_date_not_offered_exits_2_naming_the_nearest_dates(world: World, cli) -> None:
    r = cli(*run_args(world, date="2026-11-22"), env=world.env)

    assert r.code == 2
    assert "--date 2026-11-22 is not offered by rollback.json; nearest dates: 2026-11-20, 2026-11-19, 2026-11-18" \
        in r.err
    assert world.sim.requests == []


def test_a_rollback_json_of_another_environment_exits_2(world: World, cli) -> None:
    r = cli("run", f"--date={DATE}", "--env=stage", f"--dump={world.dump}", env=world.env)

    assert r.code == 2
    assert "was made for env 'prod', not 'stage'" in r.err and "get --env=stage" in r.err
    assert world.puts() == []


def test_the_password_never_appears_in_output_report_or_snapshot(make_world: Callable[..., World], cli) -> None:
    w = make_world(unhealthy_images=["*/web:306-master"])
    env = {"MARATHON_URL": w.sim.url}

    failed = cli(*run_args(w, f"--user={USER}", f"--pwd={PASSWORD}", "--verbose", timeout="1"), env=env)
    wrong = cli(*run_args(w, f"--user={USER}", f"--pwd={PASSWORD}x", "--verbose"), env=env)

    assert (failed.code, wrong.code) == (1, 4)
    for r in (failed, wrong):
        assert PASSWORD not in r.out + r.err
    written = [p for p in w.dump.iterdir() if p.is_file()]
    assert {p.name.split("-")[0] for p in written} >= {"snapshot", "report", "junit"}
    for path in written:
        assert PASSWORD not in path.read_text(errors="replace"), path.name


def test_the_report_json_and_junit_xml_are_written_in_dump(world: World, cli) -> None:
    r = cli(*run_args(world), env={**world.env, "BUILD_URL": "https://jenkins.example.com/job/rollback/7/"})

    assert r.code == 0, r.err
    [report_path] = list(world.dump.glob("report-*.json"))
    [junit_path] = list(world.dump.glob("junit-*.xml"))
    assert report_path.name[len("report-"):-len(".json")] == junit_path.name[len("junit-"):-len(".xml")]
    report = json.loads(report_path.read_text())
    assert (report["command"], report["env"], report["date"], report["state"], report["exit_code"]) == (
        "run", "prod", DATE, "SUCCEEDED", 0)
    assert report["actor"] == "alice" and report["build_url"] == "https://jenkins.example.com/job/rollback/7/"
    assert Path(report["snapshot"]).is_file()
    for s in report["services"]:
        name = s["service"][len(PREFIX):]
        assert (s["app_id"], s["from"], s["to"], s["status"]) == (
            app_id(name), world.image(name, NEWEST[name]), world.image(name, AT_19[name]), "succeeded")
        assert s["deployment_id"] and s["seconds"] >= DEPLOY_SECONDS
    suite = ET.parse(junit_path).getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "4", "0")
    assert sorted(c.get("name") for c in suite.iter("testcase")) == sorted(svc(n) for n in SERVICES)
