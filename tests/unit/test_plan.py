"""The pure planner, image references and app mapping: table tests, no network."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

import pytest

from fleetrewind.marathon.appmap import map_apps
from fleetrewind.planning.build import order_waves
from fleetrewind.errors import UsageError
from fleetrewind.releases.index import Index, build_index, parse_index
from fleetrewind.model.release import Release
from fleetrewind.model.imageref import ImageRef, parse_image, retarget, runs
from fleetrewind.model.plan import CHANGE, NO_RELEASE, UNCHANGED, Plan
from fleetrewind.planning.build import plan_for_date, plan_for_images, plan_for_versions, plan_json, render_table

REG = "registry.example.com"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def release(service: str, tag: str, created: str, digest: str = "", host: str = REG) -> Release:
    moment = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    digest = digest or "sha256:" + hashlib.sha256(f"{service}:{tag}".encode()).hexdigest()
    return Release(service=service, created=moment, tag=tag, digest=digest, image=f"{host}/{service}:{tag}")


def index_of(releases: Iterable[Release], services: Iterable[str], tz: dt.tzinfo = dt.timezone.utc) -> Index:
    """The index as `get` writes it and `plan` reads it back (a round trip through rollback.json's shape)."""
    services = list(services)
    document = build_index(releases, env="prod", branch="master", registry=f"https://{REG}", services=services,
                           tz=tz, generated_at=dt.datetime(2026, 11, 21, 20, 0, tzinfo=dt.timezone.utc))
    return parse_index(document, Path("rollback.json"))


def plan(index: Index, date: str, current: dict[str, str | None], *, waves: Sequence[Sequence[str]] = (),
         pin_digest: bool = False) -> Plan:
    app_ids = {s: f"/ds/prod/shop/{s.rsplit('/', 1)[-1]}" for s in index.services}
    return plan_for_date(index, date, current=current, app_ids=app_ids, waves=waves, pin_digest=pin_digest)


# A fleet of three where the second service (worker) has no release on 2026-11-19.
FLEET = [
    release("api", "510-master", "2026-11-18T17:59:00Z"),
    release("api", "511-master", "2026-11-19T08:00:00Z"),
    release("api", "512-master", "2026-11-19T11:00:00Z"),
    release("api", "515-master", "2026-11-20T09:30:00Z"),
    release("worker", "204-master", "2026-11-17T10:10:00Z"),
    release("worker", "207-master", "2026-11-18T14:45:00Z"),
    release("worker", "210-master", "2026-11-20T08:00:00Z"),
    release("web", "305-master", "2026-11-18T07:30:00Z"),
    release("web", "306-master", "2026-11-19T23:59:59.999999Z"),
    release("web", "308-master", "2026-11-20T06:00:00Z"),
]
NEWEST = {"api": f"{REG}/api:515-master", "worker": f"{REG}/worker:210-master", "web": f"{REG}/web:308-master"}


# --- the date rule ---------------------------------------------------------------------------------

def test_a_service_without_a_release_that_day_gets_its_older_image_while_the_others_get_that_days() -> None:
    p = plan(index_of(FLEET, ["api", "worker", "web"]), "2026-11-19", NEWEST)

    assert [(s.service, s.action, s.target) for s in p.steps] == [
        ("api", CHANGE, f"{REG}/api:512-master"),
        ("worker", CHANGE, f"{REG}/worker:207-master"),
        ("web", CHANGE, f"{REG}/web:306-master"),
    ]
    assert p.step("api").reason == "released that day"
    assert p.step("worker").reason == "filled from an older date (2026-11-18)"
    assert p.step("web").reason == "released that day"  # 23:59:59.999999 is still that day
    assert len(p.changes()) == 3


def test_several_releases_on_one_day_give_the_last_one_by_creation_time_not_by_tag_order() -> None:
    day = [
        release("api", "99-master", "2026-11-19T18:00:00Z"),   # built last, smaller number
        release("api", "100-master", "2026-11-19T09:00:00Z"),
        release("api", "101-master", "2026-11-19T12:00:00Z"),
    ]
    p = plan(index_of(day, ["api"]), "2026-11-19", {"api": f"{REG}/api:1-master"})

    assert p.step("api").target == f"{REG}/api:99-master"
    assert p.step("api").release is not None and p.step("api").release.tag == "99-master"


def test_a_release_after_the_date_is_never_chosen() -> None:
    p = plan(index_of(FLEET, ["api", "worker", "web"]), "2026-11-18", NEWEST)

    assert {s.service: s.target.rsplit(":", 1)[1] for s in p.steps} == {
        "api": "510-master", "worker": "207-master", "web": "305-master"}


def test_the_day_is_taken_in_the_index_time_zone() -> None:
    """23:30 UTC on the 19th is already the 20th in Paris: a Paris rollback to the 19th must not take it."""
    late = [release("api", "1-master", "2026-11-19T10:00:00Z"), release("api", "2-master", "2026-11-19T23:30:00Z")]
    paris = index_of(late, ["api"], tz=ZoneInfo("Europe/Paris"))

    assert plan(paris, "2026-11-19", {"api": f"{REG}/api:0-master"}).step("api").target == f"{REG}/api:1-master"
    assert plan(index_of(late, ["api"]), "2026-11-19", {"api": f"{REG}/api:0-master"}).step("api").target \
        == f"{REG}/api:2-master"


def test_no_release_at_or_before_the_date_leaves_the_service_as_it_is() -> None:
    releases = FLEET + [release("batch", "9-master", "2026-11-20T01:00:00Z")]
    current = dict(NEWEST, batch=f"{REG}/batch:9-master")
    p = plan(index_of(releases, ["api", "worker", "web", "batch"]), "2026-11-19", current)

    step = p.step("batch")
    assert (step.action, step.target, step.current) == (NO_RELEASE, None, f"{REG}/batch:9-master")
    assert "no release at or before 2026-11-19" in step.reason and "left as it is" in step.reason
    assert "batch" not in [s.service for s in p.changes()]
    assert [s.service for wave in p.wave_steps() for s in wave] == ["api", "worker", "web"]


# --- unchanged ---------------------------------------------------------------------------------------

def test_a_service_already_on_its_target_tag_is_not_redeployed() -> None:
    current = dict(NEWEST, api=f"{REG}/api:512-master")
    p = plan(index_of(FLEET, ["api", "worker", "web"]), "2026-11-19", current)

    step = p.step("api")
    assert step.action == UNCHANGED and step.target == step.current == f"{REG}/api:512-master"
    assert "already runs 512-master" in step.reason
    assert [s.service for s in p.changes()] == ["worker", "web"]


def test_an_image_pinned_by_digest_is_unchanged_when_its_digest_is_the_targets() -> None:
    pinned = [release("api", "512-master", "2026-11-19T11:00:00Z", digest=DIGEST_A)]
    index = index_of(pinned, ["api"])

    same = plan(index, "2026-11-19", {"api": f"{REG}/api@{DIGEST_A}"}, pin_digest=True)
    other = plan(index, "2026-11-19", {"api": f"{REG}/api@{DIGEST_B}"}, pin_digest=True)

    assert same.step("api").action == UNCHANGED
    assert (other.step("api").action, other.step("api").target) == (CHANGE, f"{REG}/api@{DIGEST_A}")


def test_a_running_tag_of_the_same_name_but_a_pinned_digest_elsewhere_is_judged_by_digest() -> None:
    """`api:512-master@sha256:b...` runs digest b, whatever its tag says: it must be redeployed."""
    pinned = [release("api", "512-master", "2026-11-19T11:00:00Z", digest=DIGEST_A)]
    p = plan(index_of(pinned, ["api"]), "2026-11-19", {"api": f"{REG}/api:512-master@{DIGEST_B}"})

    assert p.step("api").action == CHANGE
    assert p.step("api").target == f"{REG}/api:512-master"


@pytest.mark.parametrize("current, tag, digest, expected", [
    ("r/api:1-master", "1-master", None, True),
    ("r/api:2-master", "1-master", None, False),
    ("r/api", "1-master", None, False),
    (f"r/api@{DIGEST_A}", "1-master", DIGEST_A, True),
    (f"r/api@{DIGEST_A}", "1-master", DIGEST_B, False),
    (f"r/api@{DIGEST_A}", "1-master", None, False),
    (None, "1-master", None, False),
    ("not an image", "1-master", None, False),
])
def test_runs(current: str | None, tag: str, digest: str | None, expected: bool) -> None:
    assert runs(current, tag=tag, digest=digest) is expected


# --- retargeting keeps registry host, port and repository -----------------------------------------

@pytest.mark.parametrize("current, expected", [
    ("host:5000/repo:1-master", "host:5000/repo:512-master"),
    ("host:5000/repo", "host:5000/repo:512-master"),
    ("mirror.internal/team/shop/api:1-master", "mirror.internal/team/shop/api:512-master"),
    ("localhost/api:1-master", "localhost/api:512-master"),
    ("api:1-master", "api:512-master"),
    (f"repo@{DIGEST_B}", "repo:512-master"),
    (f"host:5000/repo:1-master@{DIGEST_B}", "host:5000/repo:512-master"),
])
def test_retarget_replaces_only_the_tag(current: str, expected: str) -> None:
    assert retarget(current, tag="512-master", digest=DIGEST_A) == expected


@pytest.mark.parametrize("current, expected", [
    (f"repo@{DIGEST_B}", f"repo@{DIGEST_A}"),
    ("host:5000/repo:1-master", f"host:5000/repo@{DIGEST_A}"),
])
def test_retarget_pins_the_digest_when_asked(current: str, expected: str) -> None:
    assert retarget(current, tag="512-master", digest=DIGEST_A, pin_digest=True) == expected


def test_the_plan_keeps_the_running_images_registry_not_the_indexs() -> None:
    """Marathon pulls from a mirror: the rollback changes the tag, not where the image comes from."""
    current = {"api": "mirror.internal:5000/shop/api:515-master", "worker": None, "web": NEWEST["web"]}
    p = plan(index_of(FLEET, ["api", "worker", "web"]), "2026-11-19", current)

    assert p.step("api").target == "mirror.internal:5000/shop/api:512-master"
    # an app with no image to take the host from gets the index's full image reference
    assert p.step("worker").target == f"{REG}/worker:207-master"


# --- image reference parsing -----------------------------------------------------------------------

@pytest.mark.parametrize("reference, host, repository, tag, digest", [
    ("api", None, "api", None, None),
    ("api:512-master", None, "api", "512-master", None),
    ("shop/api:1", None, "shop/api", "1", None),
    ("host:5000/repo", "host:5000", "repo", None, None),          # a registry port is not a tag
    ("host:5000/repo:tag", "host:5000", "repo", "tag", None),
    ("registry.example.com/team/api:7", "registry.example.com", "team/api", "7", None),
    ("localhost/api", "localhost", "api", None, None),
    ("localhost:5000/a/b/c:v1.2_3", "localhost:5000", "a/b/c", "v1.2_3", None),
    (f"repo@{DIGEST_A}", None, "repo", None, DIGEST_A),
    (f"host:5000/repo:tag@{DIGEST_A}", "host:5000", "repo", "tag", DIGEST_A),
])
def test_parse_image(reference: str, host: str | None, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse_image(reference)

    assert ref == ImageRef(host=host, repository=repository, tag=tag, digest=digest)
    assert str(ref) == reference


@pytest.mark.parametrize("reference", [
    "", " api", "api:1 ", "my api", "repo@sha256:xyz", "repo@", "host:5000/", "repo:", "repo:-bad",
    "host:5000/repo:a/b", "/repo", "a//b", "registry.example.com/Shop/API:1",
])
def test_parse_image_rejects_what_is_not_an_image_reference_and_names_it(reference: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_image(reference)
    assert repr(reference) in str(info.value)


# --- service -> Marathon app ------------------------------------------------------------------------

APPS = [
    "/ds/prod/shop/api", "/ds/prod/shop/api-v2", "/ds/prod/shop/api/worker", "/ds/stage/shop/api",
    "/ds/prod/shop/web", "/ds/prod/web-legacy", "/ds/prod/shop/worker",
]


def test_an_app_is_found_by_an_exact_last_segment_under_the_environment() -> None:
    # not api-v2, not /ds/stage/shop/api, not /ds/prod/web-legacy
    assert map_apps(["api", "web"], APPS, env="prod") == {"api": "/ds/prod/shop/api", "web": "/ds/prod/shop/web"}


def test_the_environment_is_the_second_segment() -> None:
    assert map_apps(["api"], APPS, env="stage") == {"api": "/ds/stage/shop/api"}


def test_a_repository_path_maps_on_its_last_segment() -> None:
    assert map_apps(["team/web"], APPS, env="prod") == {"team/web": "/ds/prod/shop/web"}


def test_no_matching_app_is_a_usage_error_naming_the_service() -> None:
    with pytest.raises(UsageError) as info:
        map_apps(["api", "billing"], APPS, env="prod")
    assert "billing: no Marathon app /<group>/prod/.../billing" in str(info.value)
    assert "apps:" in str(info.value)  # says how to fix it
    assert info.value.exit_code == 2


def test_several_matching_apps_are_a_usage_error_listing_them() -> None:
    with pytest.raises(UsageError) as info:
        map_apps(["worker"], APPS, env="prod")
    assert "worker: several apps match (/ds/prod/shop/api/worker, /ds/prod/shop/worker)" in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(UsageError) as info:
        map_apps(["worker", "billing"], APPS, env="prod")
    assert "worker:" in str(info.value) and "billing:" in str(info.value)


def test_an_override_wins_and_must_exist() -> None:
    overrides = {"worker": "ds/prod/shop/worker/", "web": "/ds/prod/web-legacy"}
    assert map_apps(["worker", "web"], APPS, env="prod", overrides=overrides) == {
        "worker": "/ds/prod/shop/worker", "web": "/ds/prod/web-legacy"}

    with pytest.raises(UsageError) as info:
        map_apps(["web"], APPS, env="prod", overrides={"web": "/ds/prod/nope"})
    assert "web: configured app /ds/prod/nope does not exist in Marathon" in str(info.value)


def test_app_group_narrows_the_candidates() -> None:
    apps = ["/ds/prod/shop/api", "/other/prod/shop/api"]
    with pytest.raises(UsageError):
        map_apps(["api"], apps, env="prod")
    assert map_apps(["api"], apps, env="prod", app_group="/other") == {"api": "/other/prod/shop/api"}
    assert map_apps(["api"], apps, env="prod", app_group="ds/") == {"api": "/ds/prod/shop/api"}


# --- waves -------------------------------------------------------------------------------------------

def test_waves_follow_the_config_and_unlisted_services_come_last() -> None:
    services = ["web", "api", "batch", "worker", "auth"]
    assert order_waves(services, [["api", "auth", "worker"], ["web"]]) == [
        ["api", "auth", "worker"], ["web"], ["batch"]]
    assert order_waves(services, []) == [services]
    # a wave naming services this fleet does not have is dropped, not an empty deployment step
    assert order_waves(["web"], [["api"], ["web"]]) == [["web"]]


def test_a_service_in_two_waves_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="lists api more than once"):
        order_waves(["api", "web"], [["api"], ["web", "api"]])


def test_the_plan_deploys_changing_services_wave_by_wave() -> None:
    index = index_of(FLEET, ["api", "worker", "web"])
    current = dict(NEWEST, worker=f"{REG}/worker:207-master")  # worker unchanged: no step in its wave
    waves = order_waves(list(index.services), [["web"], ["worker"], ["api"]])
    p = plan(index, "2026-11-19", current, waves=waves)

    assert [[s.service for s in wave] for wave in p.wave_steps()] == [["web"], ["api"]]


# --- plan_for_images (undo, deploy, last-good) ---------------------------------------------------------

def test_plan_for_images_changes_only_what_differs() -> None:
    p = plan_for_images({"api": "r/api:1", "web": "r/web:2"}, current={"api": "r/api:1", "web": "r/web:3"},
                        app_ids={"api": "/ds/prod/a/api", "web": "/ds/prod/a/web"}, waves=[["web"], ["api"]],
                        env="prod", reason="undo to snapshot s.json")

    assert [(s.service, s.action, s.target, s.wave) for s in p.steps] == [
        ("api", UNCHANGED, "r/api:1", 1), ("web", CHANGE, "r/web:2", 0)]
    assert p.step("web").reason == "undo to snapshot s.json"


# --- output ----------------------------------------------------------------------------------------------

def test_render_table_shows_service_app_current_target_and_why_in_columns() -> None:
    releases = FLEET + [release("batch", "9-master", "2026-11-20T01:00:00Z")]
    current = dict(NEWEST, web=f"{REG}/web:306-master", batch=f"{REG}/batch:9-master")
    text = render_table(plan(index_of(releases, ["api", "worker", "web", "batch"]), "2026-11-19", current))
    lines = text.splitlines()

    assert lines[0].split() == ["SERVICE", "APP", "CURRENT", "TARGET", "WHY"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert rows["api"].split()[:4] == ["api", "/ds/prod/shop/api", f"{REG}/api:515-master", f"{REG}/api:512-master"]
    assert rows["api"].endswith("released that day [built 2026-11-19 11:00, release 512-master]")
    assert "filled from an older date (2026-11-18) [built 2026-11-18" in rows["worker"]
    assert "unchanged: already runs 306-master" in rows["web"]
    assert rows["batch"].split()[3] == "-" and rows["batch"].endswith("left as it is")
    # columns line up: every column starts at the same offset on every row
    for header in ("APP", "CURRENT", "TARGET", "WHY"):
        col = lines[0].index(header)
        assert all(row[col - 2:col] == "  " and row[col] != " " for row in rows.values())
    assert lines[-1] == "2 of 4 services change (rollback to 2026-11-19), rule: built"


def test_plan_json_is_the_table_for_machines() -> None:
    data = plan_json(plan(index_of(FLEET, ["api", "worker", "web"]), "2026-11-19", NEWEST))

    assert (data["env"], data["date"], data["changes"]) == ("prod", "2026-11-19", 3)
    assert (data["rule"], data["checks"]) == ("built", [])
    worker = next(s for s in data["services"] if s["service"] == "worker")
    assert worker == {"service": "worker", "app_id": "/ds/prod/shop/worker", "current": f"{REG}/worker:210-master",
                      "target": f"{REG}/worker:207-master", "action": "change",
                      "reason": "filled from an older date (2026-11-18)", "wave": 0, "tag": "207-master",
                      "pinned": None, "evidence": "built 2026-11-18 14:45, release 207-master", "verdict": None,
                      "verdict_evidence": []}
    assert data["scope"] == {"only": None, "exclude": [], "pinned": {}, "in_scope": ["api", "worker", "web"],
                             "excluded": []}


def test_undo_of_a_whole_definition_run_restores_an_app_that_holds_the_version_but_is_not_healthy() -> None:
    """Holding the stored definition is not enough: unhealthy or mid-deployment, it is restored and waited on."""
    version = "2026-11-19T10:00:00.000Z"
    def plan(problem: str | None) -> Plan:
        return plan_for_versions({"api": version}, images={"api": f"{REG}/api:512-master"},
                                 current_versions={"api": version}, current={"api": f"{REG}/api:512-master"},
                                 app_ids={"api": "/ds/prod/api"}, waves=[["api"]], env="prod", reason="undo",
                                 problems={"api": problem})
    [healthy] = plan(None).steps
    assert (healthy.action, healthy.reason) == (UNCHANGED, "unchanged: already holds it")
    [stuck] = plan("a deployment is in flight").steps
    assert stuck.action == CHANGE and stuck.restore_version == version
    assert "a deployment is in flight" in stuck.reason and "deployed again" in stuck.reason


def test_with_at_the_summary_line_names_the_moment_in_the_index_zone() -> None:
    from fleetrewind.model.plan import Rule
    from fleetrewind.planning.checks import day_end

    paris = ZoneInfo("Europe/Paris")
    base = plan(index_of(FLEET, ["api", "worker", "web"]), "2026-11-19", NEWEST)
    noon = dt.datetime.fromisoformat("2026-11-19T11:00:00+00:00").astimezone(paris)  # as --at=...T12:00:00+01:00
    assert render_table(replace(base, rule=Rule.RAN, at=noon)).splitlines()[-1].endswith(
        " (rollback to 2026-11-19 12:00), rule: ran")
    assert render_table(replace(base, rule=Rule.RAN, at=noon + dt.timedelta(seconds=30))).splitlines()[-1].endswith(
        " (rollback to 2026-11-19 12:00:30), rule: ran")
    end = day_end("2026-11-19", paris).astimezone(paris)  # no --at: the end of the day, shown as the day
    assert render_table(replace(base, rule=Rule.RAN, at=end)).splitlines()[-1].endswith(
        " (rollback to 2026-11-19), rule: ran")
