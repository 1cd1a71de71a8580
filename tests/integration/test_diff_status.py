"""`diff` (the suspects between two dates) and `status` (what runs now), pure and end to end.

End to end: the sample fleet in the real registry, indexed by `get`, and the Marathon simulator
running it at its newest release.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from fleetrewind.releases.diff import diff
from fleetrewind.state.filelock import EnvLock
from marathonsim import Simulator
from testbed.demo import sample_apps
from tests.fleet_support import Indexed, index_sample_fleet
from tests.unit.test_diff_status import FLEET


PREFIX = "t/diff-status/"


NAMES = [PREFIX + s for s in FLEET]


NEWEST = {"api": "515-master", "worker": "210-master", "auth": "406-master", "web": "308-master"}


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=NAMES, dump=tmp_path_factory.mktemp("get"))


def make_sim(indexed: Indexed, **options: Any) -> Simulator:
    return Simulator(apps=sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}"), **options)


@pytest.fixture
def sim(indexed: Indexed) -> Iterator[Simulator]:
    with make_sim(indexed, deploy_seconds=0.1) as server:
        yield server


@pytest.fixture
def dump(indexed: Indexed, tmp_path: Path) -> Path:
    return indexed.write_dump(tmp_path / "dump")


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_diff_between_two_dates_lists_the_suspects_and_what_runs_now(sim: Simulator, dump: Path, cli) -> None:
    r = cli("diff", "--from=2026-11-18", "--to=2026-11-19", "--env=prod", f"--dump={dump}",
            env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "releases of prod built after 2026-11-18 up to the end of 2026-11-19, newest first:"
    api = lines.index(f"{PREFIX}api  (1 release; runs now: 515-master (built 2026-11-20T09:30:00Z))")
    assert lines[api + 1].split()[:3] == ["512-master", "built", "2026-11-19T11:00:00Z"]
    assert lines[api + 2] == ""
    web = lines.index(f"{PREFIX}web  (1 release; runs now: 308-master (built 2026-11-20T06:00:00Z))")
    assert lines[web + 1].split()[:3] == ["306-master", "built", "2026-11-19T23:59:59.999999Z"]
    assert f"unchanged: {PREFIX}worker" in lines
    assert lines[-1] == "3 of 4 services have releases in that span"
    assert [req for req in sim.requests if req["method"] != "GET"] == []


def test_diff_json_is_for_machines_and_the_end_defaults_to_today(sim: Simulator, dump: Path, cli) -> None:
    r = cli("diff", "--from=2026-11-19", "--env=prod", f"--dump={dump}", "--json", env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert (data["env"], data["from"], data["marathon"]) == ("prod", "2026-11-19", "read")
    assert data["to"] == dt.datetime.now(dt.timezone.utc).date().isoformat()
    by = {s["service"]: s for s in data["services"]}
    assert set(by) == set(NAMES)  # every service released on 2026-11-20
    assert [r["tag"] for r in by[PREFIX + "api"]["releases"]] == ["515-master"]
    assert by[PREFIX + "api"]["current_release"]["tag"] == "515-master"
    assert by[PREFIX + "web"]["current"].endswith(f"{PREFIX}web:308-master")
    assert data["unchanged"] == []


def test_diff_without_marathon_lists_the_releases_and_says_what_is_missing(dump: Path, cli) -> None:
    r = cli("diff", "--from=2026-11-18", "--to=2026-11-19", "--env=prod", f"--dump={dump}", "--json")

    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["marathon"] == "no Marathon URL (--marathon or MARATHON_URL)"
    assert all(s["current"] is None for s in data["services"])


def test_diff_with_marathon_down_warns_and_still_lists_the_releases(indexed: Indexed, dump: Path, cli) -> None:
    with make_sim(indexed) as gone:
        url = gone.url
    r = cli("diff", "--from=2026-11-18", "--to=2026-11-19", "--env=prod", f"--dump={dump}", env={"MARATHON_URL": url})

    assert r.code == 0, r.err
    assert "warning:" in r.err and "listing the releases without what runs now" in r.err
    assert "what runs now is not shown: Marathon could not be read" in r.out


DIFF_BAD = {
    "from-after-to": (("--from=2026-11-20", "--to=2026-11-19"), "--from 2026-11-20 is after --to 2026-11-19"),
    "from-after-today": (("--from=2099-01-01",), "--from 2099-01-01 is after today"),
    "from-not-a-date": (("--from=2026-02-30",), "--from '2026-02-30' is not a calendar date"),
    "to-not-a-date": (("--from=2026-11-18", "--to=2026-13-01"), "--to '2026-13-01' is not a calendar date"),
    "from-malformed": (("--from=19/11/2026",), "--from must look like 2026-11-19 (found: '19/11/2026')"),
    "to-last-good": (("--from=2026-11-18", "--to=last-good"), "--to must look like 2026-11-19 (found: 'last-good')"),
    "other-env": (("--from=2026-11-18", "--env=stage"), "was made for env 'prod', not 'stage'"),
}


@pytest.mark.parametrize("case", list(DIFF_BAD), ids=list(DIFF_BAD))
def test_bad_diff_input_is_one_error_line_exit_2_and_nothing_read_from_marathon(sim: Simulator, dump: Path, cli,
                                                                                case: str) -> None:
    extra, message = DIFF_BAD[case]
    env = [] if any(e.startswith("--env") for e in extra) else ["--env=prod"]
    before = tree(dump)
    r = cli("diff", *extra, *env, f"--dump={dump}", env={"MARATHON_URL": sim.url})

    assert r.code == 2
    errors = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], r.err
    assert r.out == "" and sim.requests == [] and tree(dump) == before


def test_status_shows_what_runs_now_with_its_release_and_instances(sim: Simulator, dump: Path, cli) -> None:
    r = cli("status", "--env=prod", f"--dump={dump}", env={"MARATHON_URL": sim.url})

    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["SERVICE", "APP", "IMAGE", "RELEASE", "DEPLOYMENT", "INSTANCES"]
    rows = {line.split()[0]: line for line in lines[1:5]}
    assert "515-master (2026-11-20)" in rows[PREFIX + "api"] and "2/2 running, 2 healthy" in rows[PREFIX + "api"]
    assert "2/2 running (no health checks)" in rows[PREFIX + "worker"]
    assert lines[5:] == ["prod: 4 services, 0 with a deployment in flight",
                         f"lock: free (store: file ({os.environ['ROLLBACK_LOCK_DIR']}))",
                         "last run: none recorded in the ledger"]


def test_status_json_shows_a_deployment_in_flight_the_lock_and_the_last_run(
        indexed: Indexed, dump: Path, cli, tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    with make_sim(indexed, deploy_seconds=0.1) as quick:
        run = cli("run", "--date=2026-11-19", f"--only={PREFIX}web", "--env=prod", f"--dump={dump}", "--timeout=10",
                  env={"MARATHON_URL": quick.url, "BUILD_USER": "alice"})
        assert run.code == 0, run.err
    with make_sim(indexed, deploy_seconds=60) as slow:
        app = slow.apps["/ds/prod/shop/api"]
        container = copy.deepcopy(app["container"])
        container["docker"]["image"] = f"{indexed.host}/{PREFIX}api:9-hotfix"
        resp = requests.put(f"{slow.url}/v2/apps/ds/prod/shop/api", json={"container": container}, timeout=5)
        assert resp.status_code == 200, resp.text
        with EnvLock(locks, "prod", command="deploy", force=False, warn=print):
            r = cli("status", "--env=prod", f"--dump={dump}", "--json",
                    env={"MARATHON_URL": slow.url, "ROLLBACK_LOCK_DIR": str(locks)})

    assert r.code == 0, r.err
    data = json.loads(r.out)
    by = {s["service"]: s for s in data["services"]}
    api = by[PREFIX + "api"]
    assert api["image"].endswith(":9-hotfix") and api["in_index"] is False and api["tag"] is None
    [deployment] = api["deployments"]
    assert deployment["id"] and deployment["seconds"] >= 0
    assert by[PREFIX + "web"]["tag"] == "308-master" and by[PREFIX + "web"]["released"] == "2026-11-20T06:00:00Z"
    assert by[PREFIX + "worker"]["healthy"] is None and by[PREFIX + "worker"]["running"] == 2
    assert (data["lock"]["command"], data["lock"]["pid"], data["lock"]["held"]) == ("deploy", os.getpid(), True)
    assert data["last_run"]["command"] == "run" and data["last_run"]["state"] == "SUCCEEDED"
    assert data["last_run"]["actor"] == "alice" and data["last_run"]["date"] == "2026-11-19"


def test_status_writes_nothing_not_even_a_lock(sim: Simulator, dump: Path, cli, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    (state / "fleetrewind").mkdir(parents=True)
    monkeypatch.setenv("ROLLBACK_LOCK_DIR", str(state / "fleetrewind"))
    (dump / "ledger.jsonl").write_text('{"env": "prod", "command": "run", "state": "FAILED"}\n{"torn')
    before = tree(dump), tree(state), sorted(p.name for p in dump.iterdir())

    for extra in ((), ("--json",)):
        r = cli("status", "--env=prod", f"--dump={dump}", *extra, env={"MARATHON_URL": sim.url})
        assert r.code == 0, r.err

    assert (tree(dump), tree(state), sorted(p.name for p in dump.iterdir())) == before
    assert [req for req in sim.requests if req["method"] != "GET"] == []
    assert "last run: run by ?, finished ?: FAILED" in cli("status", "--env=prod", f"--dump={dump}",
                                                           env={"MARATHON_URL": sim.url}).out


@pytest.mark.parametrize("extra", [(), ("--json",)], ids=["text", "json"])
def test_status_with_marathon_down_still_shows_the_lock_and_the_last_run_then_exits_4(
        indexed: Indexed, dump: Path, cli, tmp_path: Path, extra: tuple[str, ...]) -> None:
    with make_sim(indexed) as gone:
        url = gone.url
    locks = tmp_path / "locks"
    (dump / "ledger.jsonl").write_text('{"env": "prod", "command": "run", "date": "2026-11-19", "actor": "alice", '
                                       '"state": "FAILED"}\n')
    before = tree(dump)
    with EnvLock(locks, "prod", command="run", force=False, warn=print):
        r = cli("status", "--env=prod", f"--dump={dump}", *extra,
                env={"MARATHON_URL": url, "ROLLBACK_LOCK_DIR": str(locks)})

    assert r.code == 4
    [error] = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert "cannot reach Marathon" in error, r.err
    reason = error.removeprefix("error: ")
    if extra:
        data = json.loads(r.out)
        assert data["marathon_unreachable"] == reason and data["services"] == []
        assert (data["lock"]["command"], data["lock"]["held"]) == ("run", True)
        assert (data["last_run"]["actor"], data["last_run"]["state"]) == ("alice", "FAILED")
    else:
        lines = r.out.splitlines()
        assert lines[0] == f"Marathon unreachable: {reason}"
        assert lines[1].startswith("lock: held by ") and "run" in lines[1]
        assert lines[2].startswith("last run: run to 2026-11-19 by alice") and lines[2].count("FAILED") == 1
    assert tree(dump) == before


@pytest.mark.parametrize("extra, message", [
    (("--env=stage",), "was made for env 'prod', not 'stage'"),
    (("--env=prod", "--dump=/nonexistent/fleet"), "no rollback.json in /nonexistent/fleet"),
    (("--env=Prod",), "--env must be lower-case letters"),
], ids=["other-env", "no-index", "bad-env"])
def test_bad_status_input_is_exit_2_before_marathon_is_read(sim: Simulator, dump: Path, cli,
                                                            extra: tuple[str, ...], message: str) -> None:
    argv = [*extra] if any(e.startswith("--dump") for e in extra) else [*extra, f"--dump={dump}"]
    r = cli("status", *argv, env={"MARATHON_URL": sim.url})

    assert r.code == 2 and message in r.err and r.out == ""
    assert sim.requests == []


def test_a_ledger_that_is_not_text_is_one_error_line_for_status(sim: Simulator, dump: Path, cli) -> None:
    (dump / "ledger.jsonl").write_bytes(b'{"env": "prod"}\n\xff\xfe')

    r = cli("status", "--env=prod", f"--dump={dump}", env={"MARATHON_URL": sim.url})

    assert r.code == 2 and r.out == ""
    assert [line for line in r.err.splitlines() if line.startswith("error:")] == [
        f"error: the ledger {dump / 'ledger.jsonl'} is not UTF-8 text (byte 16); fix or move it, or use --date instead"]


def test_diff_shows_what_was_deployed_in_the_span_from_marathons_history(indexed: Indexed, dump: Path, cli) -> None:
    image = f"{indexed.host}/{PREFIX}api"
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    for app in apps:
        app["version"] = "2026-11-20T10:00:00Z" if app["id"].endswith("/api") else "2026-11-15T08:00:00Z"
    history = {"/ds/prod/shop/api": [
        {"version": "2026-11-18T18:00:00Z", "image": f"{image}:510-master"},
        {"version": "2026-11-19T12:00:00Z", "image": f"{image}:512-master"},
        {"version": "2026-11-19T15:00:00Z", "instances": 3},
        {"version": "2026-11-19T16:00:00Z", "image": f"{image}:9-hotfix"},
    ]}
    with Simulator(apps=apps, history=history) as sim:
        text = cli("diff", "--from=2026-11-18", "--to=2026-11-20", "--env=prod", f"--dump={dump}",
                   env={"MARATHON_URL": sim.url})
        data = cli("diff", "--from=2026-11-18", "--to=2026-11-20", "--env=prod", f"--dump={dump}", "--json",
                   env={"MARATHON_URL": sim.url})
        writes = [r for r in sim.requests if r["method"] != "GET"]

    assert text.code == 0 and data.code == 0, text.err + data.err
    lines = text.out.splitlines()
    api = lines.index(f"{PREFIX}api  (2 releases; runs now: 515-master (built 2026-11-20T09:30:00Z))")
    assert lines[api + 3:api + 6] == ["  deployed 2026-11-20T10:00:00Z  515-master",
                                      f"  deployed 2026-11-19T16:00:00Z  {image}:9-hotfix (not in the index)",
                                      "  deployed 2026-11-19T12:00:00Z  512-master"]
    by = {s["service"]: s for s in json.loads(data.out)["services"]}
    assert [(d["at"], d["tag"]) for d in by[PREFIX + "api"]["deployed"]] == [
        ("2026-11-20T10:00:00Z", "515-master"), ("2026-11-19T16:00:00Z", None), ("2026-11-19T12:00:00Z", "512-master")]
    assert by[PREFIX + "api"]["history"] is None
    assert by[PREFIX + "web"]["deployed"] == []  # released in the span, deployed before it
    assert writes == []
