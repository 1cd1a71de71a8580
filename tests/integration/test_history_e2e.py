"""Marathon's history as a second witness, end to end: the real registry, `get`, the simulator with seeded versions.

The sample fleet's history (UTC): api's 512-master (built on the 19th) never reached
production, so the build rule picks an image that never ran and the ran rule keeps 510-master;
web's 306-master (built at 23:59:59 on the 19th) ran only on the 20th, and its DB_URL changed on
the 20th; auth was scaled on the 19th (a scale-only version).
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from fleetrewind.cli import main
from marathonsim import Simulator
from testbed.canned import canned
from testbed.proxy import RegistryProxy
from tests.fleet_support import Indexed, index_sample_fleet

PREFIX = "t/history/"
SERVICES = ["api", "worker", "auth", "web"]
DATE = "2026-11-19"
USER, PASSWORD = "ops", "pw-history-Kx3!"
OLD_SECRET, NEW_SECRET = "postgres://web:Old-Secret-9f@db/web", "postgres://web:New-Secret-4c@db/web"
CURRENT = {"api": ("515-master", "2026-11-20T10:00:00Z"), "worker": ("210-master", "2026-11-20T08:30:00Z"),
           "auth": ("406-master", "2026-11-20T10:30:00Z"), "web": ("308-master", "2026-11-20T06:30:00Z")}


def svc(name: str) -> str:
    return PREFIX + name


def app_id(name: str) -> str:
    return f"/ds/prod/shop/{name}"


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[svc(s) for s in SERVICES],
                              dump=tmp_path_factory.mktemp("get"))


def apps_of(ix: Indexed) -> list[dict[str, Any]]:
    apps = []
    for name in SERVICES:
        tag, version = CURRENT[name]
        app: dict[str, Any] = {
            "id": app_id(name), "instances": 2, "cpus": 0.5, "mem": 256, "version": version,
            "container": {"type": "DOCKER", "docker": {"image": ix.image(name, tag), "forcePullImage": False},
                          "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"}]},
            "env": {"SERVICE": name, **({"DB_URL": NEW_SECRET} if name == "web" else {})},
        }
        apps.append(app)
    return apps


def history_of(ix: Indexed, *, refused_api: bool = False) -> dict[str, list[dict[str, Any]]]:
    api: list[dict[str, Any]] = [
        {"version": "2026-11-17T09:30:00Z", "image": ix.image("api", "506-master")},
        {"version": "2026-11-18T19:30:00+01:00", "image": ix.image("api", "510-master")},
    ]
    if refused_api:  # a deploy of 512 was stored, then refused with 409; the app was scaled after it
        api += [{"version": "2026-11-19T12:00:00Z", "image": ix.image("api", "512-master"), "refused": True},
                {"version": "2026-11-19T13:00:00Z", "instances": 3}]
    return {
        app_id("api"): api,
        app_id("worker"): [{"version": "2026-11-17T11:00:00Z", "image": ix.image("worker", "204-master")},
                           {"version": "2026-11-18T15:00:00Z", "image": ix.image("worker", "207-master")}],
        app_id("auth"): [{"version": "2026-11-17T14:00:00Z", "image": ix.image("auth", "402-master")},
                         {"version": "2026-11-19T10:00:00Z", "image": ix.image("auth", "405-master")},
                         {"version": "2026-11-19T15:00:00Z", "instances": 3}],
        app_id("web"): [{"version": "2026-11-17T18:30:00Z", "image": ix.image("web", "303-master"),
                         "env": {"SERVICE": "web", "DB_URL": OLD_SECRET}},
                        {"version": "2026-11-18T08:00:00Z", "image": ix.image("web", "305-master")},
                        {"version": "2026-11-20T00:30:00Z", "image": ix.image("web", "306-master"),
                         "env": {"SERVICE": "web", "DB_URL": NEW_SECRET}}],
    }


@dataclass
class World:
    sim: Simulator
    dump: Path
    env: dict[str, str]
    ix: Indexed

    def cli(self, *argv: str, url: str | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        env = {**os.environ, **self.env, **({"MARATHON_URL": url} if url else {})}  # the test's clean XDG dirs
        code = main(list(argv), environ=env, stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    def plan(self, *extra: str, date: str = DATE, url: str | None = None) -> tuple[int, dict[str, Any], str]:
        code, out, err = self.cli("plan", f"--date={date}", "--env=prod", f"--dump={self.dump}", "--json", *extra,
                                  url=url)
        return code, (json.loads(out) if out.strip() else {}), err

    def targets(self, plan: dict[str, Any]) -> dict[str, str | None]:
        return {s["service"].removeprefix(PREFIX): (s["target"] or "-").rsplit(":", 1)[-1] for s in plan["services"]}

    def tags(self) -> dict[str, str]:
        return {n: self.sim.apps[app_id(n)]["container"]["docker"]["image"].rsplit(":", 1)[1] for n in SERVICES}

    def version_reads(self) -> list[str]:
        return [r["path"] for r in self.sim.requests if r["method"] == "GET" and "/versions/" in r["path"]]

    def config(self, text: str) -> str:
        path = self.dump / "rollback.yaml"
        path.write_text(text)
        return f"--config={path}"


@pytest.fixture
def make_world(indexed: Indexed, tmp_path: Path) -> Iterator[Callable[..., World]]:
    sims: list[Simulator] = []

    def make(*, refused_api: bool = False, **options: Any) -> World:
        options.setdefault("deploy_seconds", 0.1)
        sim = Simulator(apps=apps_of(indexed), history=history_of(indexed, refused_api=refused_api),
                        auth=(USER, PASSWORD), **options).start()
        sims.append(sim)
        dump = tmp_path / f"dump{len(sims)}"
        dump.mkdir()
        (dump / "rollback.json").write_text(indexed.index_text)
        env = {"MARATHON_URL": sim.url, "MARATHON_USER": USER, "MARATHON_PASSWORD": PASSWORD,
               "ROLLBACK_CACHE_DIR": str(tmp_path / f"cache{len(sims)}"), "BUILD_USER": "alice"}
        return World(sim, dump, env, indexed)

    yield make
    for sim in sims:
        sim.stop()


def kinds(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["kind"], c["service"].replace(PREFIX, "")) for c in plan["checks"]]


# --- the two rules ---------------------------------------------------------------------------------------

def test_the_rules_disagree_where_a_build_never_ran_and_the_build_rule_warns(make_world: Callable[..., World]) -> None:
    w = make_world()
    code, built, err = w.plan()
    assert code == 0, err
    assert built["rule"] == "built"
    assert w.targets(built) == {"api": "512-master", "worker": "207-master", "auth": "405-master", "web": "306-master"}
    assert ("never-ran", "api") in kinds(built)
    never_ran = next(c for c in built["checks"] if c["kind"] == "never-ran")
    assert "512-master never ran" in never_ran["detail"]
    together = next(c for c in built["checks"] if c["kind"] == "never-together")
    assert "api" in together["service"] and "never ran" in together["detail"]
    api = next(s for s in built["services"] if s["service"] == svc("api"))
    assert api["evidence"] == "built 2026-11-19 11:00, release 512-master"

    code, ran, err = w.plan("--rule=ran")
    assert code == 0, err
    assert ran["rule"] == "ran"
    # the ran rule: what Marathon held at 23:59:59.999 on the 19th
    assert w.targets(ran) == {"api": "510-master", "worker": "207-master", "auth": "405-master", "web": "305-master"}
    web = next(s for s in ran["services"] if s["service"] == svc("web"))
    assert web["evidence"] == "held from 2026-11-18 08:00 to 2026-11-20 00:30"
    assert not [k for k in kinds(ran) if k[0] in ("never-ran", "never-together")]


def test_the_plan_table_shows_the_evidence_and_the_checks(make_world: Callable[..., World]) -> None:
    w = make_world()
    code, out, err = w.cli("plan", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--rule=ran")
    assert code == 0, err
    assert "held from 2026-11-18 18:30 to 2026-11-20 10:00" in out  # api 510, stored as +01:00
    assert "rule: ran" in out
    code, out, err = w.cli("plan", f"--date={DATE}", "--env=prod", f"--dump={w.dump}")
    assert "check never-ran: " + svc("api") in out
    matrix = (w.dump / "rollback.html").read_text()
    assert "never-ran" in matrix and "rule <b>built</b>" in matrix


def test_config_drift_names_fields_and_never_prints_secret_values(make_world: Callable[..., World]) -> None:
    w = make_world()
    code, plan, err = w.plan()
    drift = {c["service"]: c["detail"] for c in plan["checks"] if c["kind"] == "config-drift"}
    assert set(drift) == {svc("web"), svc("auth")}  # auth: scaled to 3 on the 19th, 2 now
    assert "env.DB_URL" in drift[svc("web")] and "instances" in drift[svc("auth")]
    code, out, err2 = w.cli("plan", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--rule=ran")
    everything = json.dumps(plan) + err + out + err2 + (w.dump / "rollback.html").read_text()
    for path in Path(w.env["ROLLBACK_CACHE_DIR"]).glob("*"):
        everything += path.read_text()
    for secret in (OLD_SECRET, NEW_SECRET, "Old-Secret", "New-Secret"):
        assert secret not in everything


def test_a_scale_only_version_keeps_the_image_it_scaled(make_world: Callable[..., World]) -> None:
    w = make_world()
    code, ran, _ = w.plan("--rule=ran")
    auth = next(s for s in ran["services"] if s["service"] == svc("auth"))
    # 405 was deployed at 10:00 and scaled at 15:00: one interval of the image, to the 20th
    assert auth["evidence"] == "held from 2026-11-19 10:00 to 2026-11-20 10:30"
    drift = [c for c in ran["checks"] if c["kind"] == "config-drift" and c["service"] == svc("auth")]
    assert drift and "instances" in drift[0]["detail"]


def test_a_version_refused_with_409_never_ran(make_world: Callable[..., World]) -> None:
    w = make_world(refused_api=True)
    code, built, _ = w.plan()
    never = [c for c in built["checks"] if c["kind"] == "never-ran"]
    assert never and "stored once but did not run" in never[0]["detail"]
    code, ran, _ = w.plan("--rule=ran")
    assert w.targets(ran)["api"] == "510-master"


def test_the_retention_horizon_leaves_the_service_under_the_ran_rule(make_world: Callable[..., World]) -> None:
    w = make_world(max_versions=2)
    code, ran, err = w.plan("--rule=ran", date="2026-11-17")
    assert code == 0, err
    api = next(s for s in ran["services"] if s["service"] == svc("api"))
    assert api["action"] == "no-history" and api["target"] is None
    assert "only the last 2 versions" in api["reason"]
    assert ("history-short", "api") in kinds(ran)


# --- the cache and other spellings ---------------------------------------------------------------------

def test_a_second_plan_reads_only_the_version_lists(make_world: Callable[..., World]) -> None:
    w = make_world()
    assert w.plan()[0] == 0
    listed = sum(len(history_of(w.ix)[app_id(n)]) for n in SERVICES)
    # every seeded version once; the current one is the app itself, already read with it
    assert len(w.version_reads()) == listed
    current = {f"/v2/apps{app_id(n)}/versions/{w.sim.apps[app_id(n)]['version']}" for n in SERVICES}
    assert not current & set(w.version_reads())
    w.sim.reset_requests()
    code, again, _ = w.plan("--rule=ran")
    assert code == 0 and w.version_reads() == []
    lists = [r for r in w.sim.requests if r["path"].endswith("/versions")]
    assert len(lists) == 4


def test_timestamps_in_another_iso_spelling_are_the_same_instants(make_world: Callable[..., World]) -> None:
    w = make_world()

    def respell(path: str, status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if "/versions" in path and status == 200:
            body = body.replace(b".000Z", b"+00:00")
        return status, headers, body

    proxy = RegistryProxy(w.sim.url, response_hook=respell).start()
    try:
        code, ran, err = w.plan("--rule=ran", url=proxy.url)
        assert code == 0, err
        assert w.targets(ran)["api"] == "510-master"
        assert any("+00:00" in path for _, path, _ in proxy.log)
    finally:
        proxy.stop()


# --- faults --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["garbage", "missing", "error", "hang"])
def test_a_broken_history_is_a_history_short_check_never_a_traceback(make_world: Callable[..., World],
                                                                      fault: str) -> None:
    w = make_world()
    api_versions = f"/v2/apps{app_id('api')}/versions"

    def rewrite(path: str) -> tuple[int, dict[str, str], bytes] | None:
        if fault == "garbage" and path.startswith(api_versions) and path.endswith("/versions"):
            return canned(200, "<html>not json</html>", "text/html")
        if fault == "missing" and path.startswith(api_versions + "/2026-11-17"):
            return canned(404, {"message": f"App '{app_id('api')}' does not exist in version x"})
        if fault == "error" and path.startswith(api_versions):
            return canned(503, {"message": "leader election"})
        if fault == "hang" and path.startswith(api_versions):
            time.sleep(1.0)
        return None

    proxy = RegistryProxy(w.sim.url, rewrite=rewrite).start()
    try:
        config = w.config("history_timeout: 0.2\n")
        code, built, err = w.plan(config, url=proxy.url)
        assert code == 0, err
        assert "Traceback" not in err
        short = [c for c in built["checks"] if c["kind"] == "history-short"]
        assert [c["service"] for c in short] == [svc("api")]
        assert app_id("api") in short[0]["detail"] or "version" in short[0]["detail"]
        assert w.targets(built)["api"] == "512-master"  # the build rule still answers

        code, ran, err = w.plan(config, "--rule=ran", url=proxy.url)
        assert code == 0, err
        api = next(s for s in ran["services"] if s["service"] == svc("api"))
        assert api["action"] == "no-history" and "could not be read" in api["reason"]

        code, out, err = w.cli("run", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", config, "--with-config",
                               url=proxy.url)
        assert code == 2 and "--with-config needs Marathon's history" in err
        assert not list(w.dump.glob("snapshot-*.json"))
    finally:
        proxy.stop()


# --- --strict, --with-config and undo -----------------------------------------------------------------

def test_strict_refuses_a_set_that_never_ran_and_writes_nothing(make_world: Callable[..., World]) -> None:
    w = make_world()
    before = sorted(p.name for p in w.dump.iterdir())
    code, out, err = w.cli("run", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--strict", "--timeout=5")
    assert code == 3, err
    assert "--strict: never-ran" in err and "nothing was changed" in err
    assert not [r for r in w.sim.requests if r["method"] == "PUT"]
    assert sorted(p.name for p in w.dump.iterdir()) == before  # no snapshot, report, ledger or matrix
    code, _, err = w.cli("plan", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", w.config("strict: true\n"))
    assert code == 3
    # under the ran rule the set ran together: strict lets it through
    code, out, err = w.cli("run", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--strict", "--rule=ran",
                           "--timeout=5")
    assert code == 0, err


def test_with_config_restores_whole_definitions_and_undo_puts_them_back(make_world: Callable[..., World]) -> None:
    w = make_world()
    code, out, err = w.cli("run", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--with-config", "--timeout=5")
    assert code == 0, err + out
    assert w.tags() == {"api": "510-master", "worker": "207-master", "auth": "405-master", "web": "305-master"}
    web = w.sim.apps[app_id("web")]
    assert web["env"]["DB_URL"] == OLD_SECRET        # the whole definition of that moment
    assert w.sim.apps[app_id("auth")]["instances"] == 3
    bodies = [r["json"] for r in w.sim.requests if r["method"] == "PUT"]
    assert bodies and all(set(b) == {"version"} for b in bodies)  # Marathon's own rollback, nothing else sent
    assert OLD_SECRET not in out + err and NEW_SECRET not in out + err
    [snapshot] = sorted(w.dump.glob("snapshot-*.json"))
    assert json.loads(snapshot.read_text())["whole"] is True

    code, out, err = w.cli("undo", f"--snapshot={snapshot}", f"--dump={w.dump}", "--timeout=5")
    assert code == 0, err + out
    assert w.tags() == {n: CURRENT[n][0] for n in SERVICES}
    assert w.sim.apps[app_id("web")]["env"]["DB_URL"] == NEW_SECRET
    assert w.sim.apps[app_id("auth")]["instances"] == 2


def test_with_config_leaves_an_app_whose_definition_is_already_the_same(make_world: Callable[..., World]) -> None:
    w = make_world()
    code, plan, err = w.plan("--rule=ran", date="2026-11-20")
    code, out, err = w.cli("run", "--date=2026-11-20", "--env=prod", f"--dump={w.dump}", "--with-config",
                           "--dry-run", "--json")
    assert code == 0, err
    actions = {s["service"].removeprefix(PREFIX): s["action"] for s in json.loads(out)["services"]}
    assert actions == {"api": "unchanged", "worker": "unchanged", "auth": "unchanged", "web": "unchanged"}


# --- get with Marathon reachable ---------------------------------------------------------------------------

def test_get_with_marathon_labels_each_date_with_the_services_that_ran_its_release(
        make_world: Callable[..., World], registry: Any, tmp_path: Path) -> None:
    w = make_world()
    dump = tmp_path / "get-ran"
    repos = "--repo=" + ",".join(svc(s) for s in SERVICES)
    code, out, err = w.cli("get", repos, "--env=prod", f"--dump={dump}", f"--registry={registry.url}",
                           f"--marathon={w.sim.url}")
    assert code == 0, err
    code, out, err = w.cli("dates", f"--dump={dump}", "--json")
    days = {d["date"]: d for d in json.loads(out)["dates"]}
    # the 19th: api 512 never ran, auth 405 did; web 306 (built 23:59:59 on the 19th) ran on the 20th
    assert days[DATE]["ran"] == [svc("auth"), svc("web")]
    assert days[DATE]["label"].endswith(f"; ran: {svc('auth')}, {svc('web')}")
    assert days["2026-11-18"]["ran"] == [svc("api"), svc("worker"), svc("web")]
    # before the oldest stored version (the 17th) nothing is known: unknown, never none
    assert "ran" not in days["2026-11-16"] and days["2026-11-16"]["label"].endswith("; ran: unknown")


def test_get_never_fails_because_marathon_is_unreachable(make_world: Callable[..., World], registry: Any,
                                                         tmp_path: Path) -> None:
    w = make_world()
    w.sim.stop()
    dump = tmp_path / "get-down"
    code, out, err = w.cli("get", "--repo=" + ",".join(svc(s) for s in SERVICES), "--env=prod", f"--dump={dump}",
                           f"--registry={registry.url}", f"--marathon={w.sim.url}")
    assert code == 0, err
    assert "Marathon's history could not be read" in err and "Traceback" not in err
    index = json.loads((dump / "rollback.json").read_text())
    assert index["ran"] == {} and index["rollbacks"][DATE]  # asked, nothing known: every label says so
    assert out.splitlines() and all(line.endswith("; ran: unknown") for line in out.splitlines())


def test_the_checks_reach_slack_the_report_and_the_matrix_of_a_run(make_world: Callable[..., World],
                                                                    slack_recorder: Any) -> None:
    w = make_world()
    code, out, err = w.cli("run", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--timeout=5",
                           f"--slack={slack_recorder.webhook_url}")
    assert code == 0, err
    started = next(m for m in slack_recorder.wait_for(1) if "started" in str(m.body.get("text", "")))
    assert "never-ran" in json.dumps(started.body) and "512-master never ran" in json.dumps(started.body)
    [report] = sorted(w.dump.glob("report-*.json"))
    checks = json.loads(report.read_text())["checks"]
    assert {c["kind"] for c in checks} >= {"never-ran", "never-together", "config-drift"}
    assert all(OLD_SECRET not in c["detail"] and NEW_SECRET not in c["detail"] for c in checks)
    # the ledger records what was tried, so a later failed-and-reverted image counts as not run
    entry = json.loads((w.dump / "ledger.jsonl").read_text().splitlines()[-1])
    api = entry["tried"][svc("api")]
    assert (api["image"], api["status"]) == (w.ix.image("api", "512-master"), "succeeded")
    # and the evidence of what served: the version the tool saw healthy, when, after how long
    assert api["version"] == w.sim.apps[app_id("api")]["version"] and api["seconds"] >= 0
    assert api["finished_at"][:19] <= entry["at"][:19]  # seen done before the run ended (both UTC)


def test_with_config_reverts_whole_definitions_when_a_service_fails(make_world: Callable[..., World]) -> None:
    w = make_world(unhealthy_images=["*/web:305-master"])
    code, out, err = w.cli("run", f"--date={DATE}", "--env=prod", f"--dump={w.dump}", "--with-config",
                           "--on-failure=revert", "--timeout=2")
    assert code == 1, err + out
    assert "ROLLBACK_COMPLETED" in err + out
    # every touched app is back on the definition it had before the run, env and instances included
    assert w.tags() == {n: CURRENT[n][0] for n in SERVICES}
    assert w.sim.apps[app_id("web")]["env"]["DB_URL"] == NEW_SECRET
    assert w.sim.apps[app_id("auth")]["instances"] == 2
    bodies = [r["json"] for r in w.sim.requests if r["method"] == "PUT"]
    assert bodies and all(set(b) == {"version"} for b in bodies)
