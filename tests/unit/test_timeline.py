"""The timeline of an app's stored versions, the ran rule and the checks, on hand-made histories."""

from __future__ import annotations

import datetime as dt
import json
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fleetrewind.platform.timeline import BadTimestamp, Definition, Failed, build_timeline, changed_fields, parse_instant
from fleetrewind.marathon.definition import definition_of
from fleetrewind.planning.together import ran_together
from fleetrewind.marathon.versioncache import VersionCache
from fleetrewind.releases.index import Index
from fleetrewind.model.release import Release
from fleetrewind.planning.checks import day_end, run_checks
from fleetrewind.model.plan import CHANGE, NO_HISTORY, UNCHANGED
from fleetrewind.planning.build import plan_for_date
from fleetrewind.planning.ranrule import plan_ran

KEY = b"k" * 32
UTC = dt.timezone.utc


def app(version: str, tag: str, *, instances: int = 2, config_at: str | None = None, env: dict[str, str] | None = None,
        cpus: float = 0.5, repo: str = "api") -> dict[str, Any]:
    return {"id": f"/ds/prod/{repo}", "instances": instances, "cpus": cpus, "mem": 256,
            "env": env or {"DB_URL": "postgres://u:hunter2@db/x"},
            "container": {"type": "DOCKER", "docker": {"image": f"reg:5000/{repo}:{tag}", "forcePullImage": False}},
            "version": version, "versionInfo": {"lastConfigChangeAt": config_at or version, "lastScalingAt": version}}


def definition(version: str, tag: str, **kw: Any) -> Definition:
    return definition_of(app(version, tag, **kw), KEY)


def at(text: str) -> dt.datetime:
    return parse_instant(text)


@pytest.mark.parametrize("text", ["2026-11-19T10:05:00.123Z", "2026-11-19T10:05:00.123+00:00",
                                  "2026-11-19T11:05:00.123+01:00", "2026-11-19T10:05:00.123000Z"])
def test_every_iso_spelling_names_the_same_instant(text: str) -> None:
    assert parse_instant(text) == dt.datetime(2026, 11, 19, 10, 5, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "", "2026-13-40T00:00:00Z", "12345"])
def test_a_garbage_version_is_refused(text: str) -> None:
    with pytest.raises(BadTimestamp):
        parse_instant(text)


def test_versions_are_ordered_by_instant_not_by_string() -> None:
    # lexical order would put +01:00 at 10:30 after the Z at 10:00; as instants it is 09:30.
    early = definition("2026-11-19T10:30:00.000+01:00", "1-master")
    late = definition("2026-11-19T10:00:00.000Z", "2-master")
    timeline = build_timeline("/ds/prod/api", [late, early], current=late)
    assert [i.definition.image for i in timeline.intervals] == ["reg:5000/api:1-master", "reg:5000/api:2-master"]
    assert timeline.held_at(at("2026-11-19T09:45:00Z")).definition is early  # type: ignore[union-attr]


def test_a_version_stored_after_the_current_one_never_ran() -> None:
    v1 = definition("2026-11-18T10:00:00.000Z", "1-master")
    refused = definition("2026-11-19T10:00:00.000Z", "2-master")
    timeline = build_timeline("/a", [v1, refused], current=v1)
    assert [i.definition for i in timeline.intervals] == [v1]
    assert timeline.not_run[0][0] is refused and "refused" in timeline.not_run[0][1]


def test_a_refused_change_before_a_scale_only_version_is_told_by_its_version_info() -> None:
    v1 = definition("2026-11-18T10:00:00.000Z", "1-master")
    refused = definition("2026-11-19T10:00:00.000Z", "2-master")
    # the scale-only version was built on v1's configuration: lastConfigChangeAt is v1
    scaled = definition("2026-11-19T12:00:00.000Z", "1-master", instances=4, config_at="2026-11-18T10:00:00.000Z")
    timeline = build_timeline("/a", [scaled, refused, v1], current=scaled)
    assert [i.definition.version for i in timeline.intervals] == [v1.version, scaled.version]
    assert [d.version for d, _ in timeline.not_run] == [refused.version]


def test_scale_only_and_restart_versions_keep_one_image_interval() -> None:
    from fleetrewind.platform.timeline import merged

    v1 = definition("2026-11-18T10:00:00.000Z", "1-master")
    scaled = definition("2026-11-18T12:00:00.000Z", "1-master", instances=5, config_at="2026-11-18T10:00:00.000Z")
    restart = definition("2026-11-18T14:00:00.000Z", "1-master", instances=5)
    v2 = definition("2026-11-19T09:00:00.000Z", "2-master")
    timeline = build_timeline("/a", [v2, restart, scaled, v1], current=v2)
    assert len(timeline.intervals) == 4
    spans = merged(timeline.intervals)
    assert [(s.start, s.end) for s in spans] == [(v1.at, v2.at), (v2.at, None)]
    assert not scaled.config_change and v1.config_change


def test_the_retention_cap_is_a_horizon() -> None:
    versions = [definition(f"2026-11-{day:02d}T10:00:00.000Z", f"{day}-master") for day in range(10, 15)]
    capped = build_timeline("/a", versions, current=versions[-1], max_versions=5)
    assert not capped.complete and capped.horizon == versions[0].at
    assert not capped.reaches(at("2026-11-09T23:59:59Z")) and capped.reaches(at("2026-11-10T10:00:00Z"))
    reason = capped.short_reason(at("2026-11-09T23:59:59Z"), UTC)
    assert "only the last 5 versions" in reason and "2026-11-10 10:00" in reason
    whole = build_timeline("/a", versions, current=versions[-1], max_versions=50)
    assert whole.complete and whole.covers_since(at("2026-11-01T00:00:00Z"))
    assert "created" in whole.short_reason(at("2026-11-09T00:00:00Z"), UTC)


def test_a_version_the_ledger_saw_fail_and_be_put_back_did_not_run() -> None:
    v1 = definition("2026-11-18T10:00:00.000Z", "1-master")
    bad = definition("2026-11-19T10:00:00.000Z", "2-master")
    back = definition("2026-11-19T10:05:00.000Z", "1-master")
    failed = [Failed("reg:5000/api:2-master", at("2026-11-19T09:59:00Z"), at("2026-11-19T10:06:00Z"))]
    timeline = build_timeline("/a", [v1, bad, back], current=back, failed=failed)
    assert [i.definition.image for i in timeline.intervals] == ["reg:5000/api:1-master"] * 2
    assert "ledger" in timeline.not_run[0][1]


def test_drift_names_fields_and_never_holds_values() -> None:
    then = definition("2026-11-18T10:00:00.000Z", "1-master", env={"DB_URL": "postgres://u:hunter2@db/x", "A": "1"})
    now = definition("2026-11-20T10:00:00.000Z", "2-master", env={"DB_URL": "postgres://u:s3cret@db/x", "A": "1"},
                     cpus=1.0, instances=3)
    assert changed_fields(then, now) == ["cpus", "env.DB_URL", "instances"]
    stored = json.dumps([then.to_json(), now.to_json()])
    assert "hunter2" not in stored and "s3cret" not in stored and "postgres" not in stored
    # read back, the secret fields (every env value) are known by name only
    assert Definition.from_json(json.loads(json.dumps(then.to_json()))) == replace(
        then, secret_fields={}, unknown=frozenset({"env.DB_URL", "env.A"}))


def test_ran_together_names_the_pair_and_the_nearest_moment() -> None:
    api1 = definition("2026-11-18T10:00:00.000Z", "1-master")
    api2 = definition("2026-11-19T10:00:00.000Z", "2-master")
    web1 = definition_of(app("2026-11-18T11:00:00.000Z", "7-master", repo="web"), KEY)
    web2 = definition_of(app("2026-11-19T12:00:00.000Z", "8-master", repo="web"), KEY)
    timelines = {"api": build_timeline("/api", [api1, api2], current=api2),
                 "web": build_timeline("/web", [web1, web2], current=web2)}
    now = at("2026-11-21T00:00:00Z")
    # api 1 + web 8 never overlapped (api moved to 2 before web reached 8)
    verdict = ran_together(timelines, {"api": lambda i: i.endswith(":1-master"), "web": lambda i: i.endswith(":8-master")},
                           near=at("2026-11-19T23:59:59Z"), now=now)
    assert not verdict.ok and verdict.pair == ("api", "web")
    together = ran_together(timelines, {"api": lambda i: i.endswith(":2-master"), "web": lambda i: i.endswith(":7-master")},
                            near=at("2026-11-19T23:59:59Z"), now=now)
    assert together.ok and together.at == api2.at


def test_day_end_is_the_last_instant_of_the_date_in_the_time_zone() -> None:
    assert day_end("2026-11-19", UTC) == dt.datetime(2026, 11, 19, 23, 59, 59, 999999, tzinfo=UTC)
    paris = day_end("2026-11-19", ZoneInfo("Europe/Paris"))
    assert paris == dt.datetime(2026, 11, 19, 22, 59, 59, 999999, tzinfo=UTC)


def _index(releases: list[Release]) -> Index:
    rollbacks: dict[str, list[Release]] = {}
    for release in releases:
        rollbacks.setdefault(release.created.date().isoformat(), []).append(release)
    return Index(env="prod", branch="master", registry="http://reg:5000", generated_at="", timezone="UTC",
                 services=("api",), rollbacks=rollbacks)


def _release(tag: str, created: str) -> Release:
    return Release("api", at(created), tag, "", f"reg:5000/api:{tag}")


def test_the_rules_disagree_when_a_build_never_ran_and_the_check_says_so() -> None:
    # built: 2-master of the 19th (never deployed); ran: 1-master held through the 19th.
    index = _index([_release("1-master", "2026-11-17T09:00:00Z"), _release("2-master", "2026-11-19T09:00:00Z"),
                    _release("3-master", "2026-11-20T09:00:00Z")])
    v1 = definition("2026-11-17T10:00:00.000Z", "1-master")
    v3 = definition("2026-11-20T10:00:00.000Z", "3-master")
    timelines = {"api": build_timeline("/ds/prod/api", [v3, v1], current=v3)}
    current = {"api": "reg:5000/api:3-master"}
    built = plan_for_date(index, "2026-11-19", current=current, app_ids={"api": "/ds/prod/api"}, waves=[])
    ran = plan_ran(index, "2026-11-19", timelines, current=current, current_defs={"api": v3},
                   app_ids={"api": "/ds/prod/api"}, waves=[])
    assert built.step("api").target == "reg:5000/api:2-master"
    assert ran.step("api").target == "reg:5000/api:1-master" and ran.step("api").action == CHANGE
    assert ran.step("api").evidence == "held from 2026-11-17 10:00 to 2026-11-20 10:00"
    assert built.step("api").evidence == "built 2026-11-19 09:00, release 2-master"
    checks = run_checks(built, timelines, {"api": v3}, tz=UTC, now=at("2026-11-21T00:00:00Z"))
    assert [(c.service, c.kind) for c in checks] == [("api", "never-ran")]
    assert run_checks(ran, timelines, {"api": v3}, tz=UTC, now=at("2026-11-21T00:00:00Z")) == ()


@pytest.mark.parametrize("status, problem", [
    ({"deployments": [{"id": "d-1"}]}, "deployment d-1 is still in flight"),
    ({"tasksUnhealthy": 1, "tasksHealthy": 1}, "1 of its tasks are unhealthy"),
    ({"tasksRunning": 1}, "1/2 tasks running"),
    ({}, None),
], ids=["in-flight", "unhealthy", "short", "at-rest"])
def test_both_rules_judge_already_runs_its_target_the_same_way(status: dict[str, Any], problem: str | None) -> None:
    from fleetrewind.marathon.fleet import fleet_state
    from fleetrewind.platform.fleet import History
    from fleetrewind.model.scope import Scope
    from fleetrewind.planning.witness import plan_by_rule

    # the 17th's build is what ran on the 18th, and what runs now: both rules pick the image it runs
    index = _index([_release("1-master", "2026-11-17T09:00:00Z")])
    v1 = definition("2026-11-17T10:00:00.000Z", "1-master")
    doc = {**app("2026-11-17T10:00:00.000Z", "1-master"), "tasksRunning": 2, "tasksHealthy": 0, **status}
    fleet = fleet_state({"api": "/ds/prod/api"}, {"api": doc})
    history = History(timelines={"api": build_timeline("/ds/prod/api", [v1], current=v1)}, current={"api": v1},
                      max_versions=50, requests=0)
    steps = {(rule, with_config): plan_by_rule(index, fleet, "2026-11-18", history, rule=rule, with_config=with_config, waves=[],
                                pin_digest=False, scope=Scope(), now=at("2026-11-21T00:00:00Z")).step("api")
             for rule, with_config in (("built", False), ("ran", False), ("ran", True))}

    for step in steps.values():
        assert step.target == "reg:5000/api:1-master"
        if problem is None:
            assert step.action == UNCHANGED and step.reason.startswith("unchanged: already")
        else:
            assert step.action == CHANGE and f"but {problem}: deployed again and waited on until healthy" in step.reason
    assert steps[("ran", False)].restore_version is None
    assert steps[("ran", True)].restore_version == (v1.version if problem else None)


def test_the_ran_rule_leaves_a_service_whose_history_is_short() -> None:
    index = _index([_release("1-master", "2026-11-17T09:00:00Z")])
    v3 = definition("2026-11-20T10:00:00.000Z", "3-master")
    timelines = {"api": build_timeline("/ds/prod/api", [v3], current=v3, max_versions=1)}
    ran = plan_ran(index, "2026-11-17", timelines, current={"api": v3.image}, current_defs={"api": v3},
                   app_ids={"api": "/ds/prod/api"}, waves=[])
    step = ran.step("api")
    assert step.action == NO_HISTORY and step.target is None and "only the last 1 versions" in step.reason
    kinds = [c.kind for c in run_checks(ran, timelines, {"api": v3}, tz=UTC, now=at("2026-11-21T00:00:00Z"))]
    assert kinds == ["history-short"]


def test_with_config_restores_a_changed_definition_and_leaves_a_same_one() -> None:
    index = _index([_release("1-master", "2026-11-17T09:00:00Z")])
    v1 = definition("2026-11-17T10:00:00.000Z", "1-master", cpus=0.5)
    now = definition("2026-11-20T10:00:00.000Z", "1-master", cpus=2.0)
    timelines = {"api": build_timeline("/ds/prod/api", [v1, now], current=now)}
    plan = plan_ran(index, "2026-11-18", timelines, current={"api": now.image}, current_defs={"api": now},
                    app_ids={"api": "/ds/prod/api"}, waves=[], with_config=True)
    assert plan.step("api").action == CHANGE and plan.step("api").restore_version == v1.version
    same = plan_ran(index, "2026-11-20", timelines, current={"api": now.image}, current_defs={"api": now},
                    app_ids={"api": "/ds/prod/api"}, waves=[], with_config=True)
    assert same.step("api").action == UNCHANGED
    drift = run_checks(plan_ran(index, "2026-11-18", timelines, current={"api": now.image}, current_defs={"api": now},
                                app_ids={"api": "/ds/prod/api"}, waves=[]), timelines, {"api": now},
                       tz=UTC, now=at("2026-11-21T00:00:00Z"))
    assert [(c.kind, c.detail.split(":")[1].split("(")[0].strip()) for c in drift] == [("config-drift", "cpus")]


def test_the_version_cache_keeps_definitions_without_values_and_drops_a_broken_entry(tmp_path: Path) -> None:
    cache = VersionCache(tmp_path, "http://marathon:8080")
    v1 = definition_of(app("2026-11-17T10:00:00.000Z", "1-master"), cache.key)
    cache.store("/a", v1)
    cache.save()
    assert cache.path is not None and stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert "hunter2" not in cache.path.read_text()
    again = VersionCache(tmp_path, "http://marathon:8080")
    assert again.key != cache.key and "key" not in json.loads(cache.path.read_text())  # never written
    assert again.lookup("/a", "2026-11-17T10:00:00.000+00:00") == replace(
        v1, version="2026-11-17T10:00:00.000+00:00", secret_fields={}, unknown=frozenset(v1.secret_fields))
    data = json.loads(cache.path.read_text())
    data["apps"]["/a"]["2026-11-17T10:00:00.000Z"]["instances"] = "two"
    cache.path.write_text(json.dumps(data))
    broken = VersionCache(tmp_path, "http://marathon:8080")
    assert broken.lookup("/a", v1.version) is None and broken.dropped == 1


def test_the_ledger_names_images_that_failed_and_were_put_back(tmp_path: Path) -> None:
    from fleetrewind.state.file import FileStore
    from fleetrewind.state.store import failed_deploys

    def ledger(path: Path) -> FileStore:
        return FileStore(lock_dir=tmp_path / "locks", ledger=path, dump=tmp_path)

    path = tmp_path / "ledger.jsonl"
    lines = [
        {"env": "prod", "at": "2026-11-19T10:06:00Z", "started_at": "2026-11-19T09:59:00Z", "state": "ROLLBACK_COMPLETED",
         "tried": {"api": {"image": "reg:5000/api:2-master", "status": "rolled-back"},
                   "web": {"image": "reg:5000/web:9-master", "status": "succeeded"}}},
        {"env": "stage", "at": "2026-11-19T11:00:00Z", "started_at": "2026-11-19T10:59:00Z",
         "tried": {"api": {"image": "reg:5000/api:3-master", "status": "rolled-back"}}},
        {"env": "prod", "at": "2026-11-18T10:00:00Z", "state": "SUCCEEDED", "images": {"api": "x"}},  # older line
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{torn")
    assert failed_deploys(ledger(path).entries("prod"), "prod") == {
        "api": [Failed("reg:5000/api:2-master", at("2026-11-19T09:59:00Z"), at("2026-11-19T10:06:00Z"))]}
    assert failed_deploys(ledger(tmp_path / "none.jsonl").entries("prod"), "prod") == {}


@pytest.mark.parametrize("info, expected", [
    ({"marathon_config": {"zk_max_versions": 25}}, 25),
    ({"zookeeper_config": {"zk_max_versions": 12}}, 12),
    ({"marathon_config": {}, "zookeeper_config": {"zk_max_versions": "many"}}, 50),
    ({}, 50),
])
def test_the_retention_cap_comes_from_v2_info_or_is_marathons_default(info: dict[str, Any], expected: int) -> None:
    from fleetrewind.marathon.history import max_versions_of

    assert max_versions_of(info) == expected
