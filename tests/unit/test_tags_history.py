"""Pure rules, table-driven: tags and branches, names, the date index and reading it back."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fleetrewind.errors import UsageError
from fleetrewind.model.names import check_env
from fleetrewind.model.release import Release
from fleetrewind.releases.index import build_index, check_offered, day_of, iso_utc, label, parse_index, read_index, target_for, write_index
from fleetrewind.registry.client import parse_created
from fleetrewind.releases.tags import (
    DEFAULT_BRANCHES,
    DEFAULT_TAG_PATTERN,
    TagInfo,
    branch_for_env,
    compile_tag_pattern,
    parse_services,
    parse_tag,
)

UTC = dt.timezone.utc
PARIS = ZoneInfo("Europe/Paris")
DEFAULT = compile_tag_pattern(DEFAULT_TAG_PATTERN)
NOW = dt.datetime(2026, 11, 21, 20, 0, 0, 123456, tzinfo=UTC)
REGISTRY = "https://registry.example.com"


def at(text: str) -> dt.datetime:
    return parse_created(text, "test")


def rel(service: str, tag: str, created: str) -> Release:
    return Release(service=service, created=at(created), tag=tag, digest=f"sha256:{service}-{tag}",
                   image=f"registry.example.com/{service}:{tag}")


def index_of(releases: list[Release], *, services: tuple[str, ...] = ("api", "web"), tz: dt.tzinfo = UTC,
             keep: int | None = None) -> dict:
    return build_index(releases, env="prod", branch="master", registry=REGISTRY, services=services, tz=tz,
                       generated_at=NOW, keep=keep)


def tags_by_day(document: dict) -> dict[str, list[str]]:
    return {day: [f"{e['service']} {e['tag']}" for e in entries] for day, entries in document["rollbacks"].items()}


# -- tags and branches ------------------------------------------------------------------------

@pytest.mark.parametrize("tag, expected", [
    ("512-master", TagInfo(512, "master")),
    ("14-hotfix-master", TagInfo(14, "hotfix-master")),   # the branch is everything after the first "-"
    ("7-feature-x-y", TagInfo(7, "feature-x-y")),
    ("0010-develop", TagInfo(10, "develop")),
    ("latest", None),
    ("master", None),
    ("hotfix-master", None),
    ("-master", None),
    ("512-", None),
    ("512master", None),
    ("v512-master", None),
])
def test_default_tag_pattern(tag: str, expected: TagInfo | None) -> None:
    assert parse_tag(tag, DEFAULT) == expected


@pytest.mark.parametrize("tag, env, belongs", [
    ("512-master", "prod", True),
    ("14-hotfix-master", "prod", False),   # not branch master, even though it ends with it
    ("3-master-old", "prod", False),
    ("9-stage", "stage", True),
    ("9-stage", "prod", False),
    ("9-develop", "dev", True),
    ("9-dev", "dev", False),               # dev's branch is develop
    ("9-qa", "qa", True),                  # an unmapped environment is its own branch
])
def test_branch_rule_is_exact(tag: str, env: str, belongs: bool) -> None:
    info = parse_tag(tag, DEFAULT)
    assert info is not None
    assert (info.branch == branch_for_env(env, DEFAULT_BRANCHES)) is belongs


def test_branch_mapping_can_be_overridden() -> None:
    branches = {**DEFAULT_BRANCHES, "prod": "main", "preprod": "release"}
    assert branch_for_env("prod", branches) == "main"
    assert branch_for_env("preprod", branches) == "release"
    assert branch_for_env("stage", branches) == "stage"


@pytest.mark.parametrize("pattern, tag, expected", [
    (r"^(?P<branch>[a-z]+)-(?P<build>\d+)$", "master-512", TagInfo(512, "master")),
    (r"^(?P<branch>[a-z]+)-(?P<build>\d+)$", "512-master", None),
    (r"^v(?P<build>\d+)_(?P<branch>\w+)$", "v12_release", TagInfo(12, "release")),
    (r"^(?P<branch>master|stage)-[0-9a-f]{7}$", "master-abc1234", TagInfo(None, "master")),  # no build group
    (r"(?P<build>\d+)-(?P<branch>master)", "1-master-x", None),   # the whole tag must match
])
def test_custom_tag_pattern(pattern: str, tag: str, expected: TagInfo | None) -> None:
    assert parse_tag(tag, compile_tag_pattern(pattern)) == expected


@pytest.mark.parametrize("pattern, message", [
    (r"^(?P<build>\d+)-(.+)$", "needs a named group (?P<branch>...)"),
    (r"^(?P<branch>[a-z+$", "is not a valid regular expression"),
])
def test_bad_tag_pattern_is_a_usage_error(pattern: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        compile_tag_pattern(pattern)
    assert message in str(caught.value)
    assert repr(pattern) in str(caught.value)
    assert caught.value.exit_code == 2


# -- environments and services ----------------------------------------------------------------

@pytest.mark.parametrize("env", ["prod", "stage", "dev", "eu-west-1", "a", "p2"])
def test_valid_environments(env: str) -> None:
    assert check_env(env) == env


@pytest.mark.parametrize("env", ["Prod", "prod-", "-prod", "pr od", "prod/eu", "", "pröd", "prod\n"])
def test_invalid_environments_name_the_value(env: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_env(env)
    assert repr(env) in str(caught.value)
    assert "--env" in str(caught.value)


@pytest.mark.parametrize("value, expected", [
    ("api", ("api",)),
    ("api,web,worker", ("api", "web", "worker")),
    (" api , web ", ("api", "web")),
    ("ds/api,my_svc,a.b,a--b", ("ds/api", "my_svc", "a.b", "a--b")),
])
def test_parse_services(value: str, expected: tuple[str, ...]) -> None:
    assert parse_services(value) == expected


@pytest.mark.parametrize("value, message", [
    ("", "comma-separated"),
    ("api,,web", "comma-separated"),
    ("api,", "comma-separated"),
    ("API", "'API' is not a valid repository name"),
    ("api:latest", "'api:latest' is not a valid repository name"),
    ("-api", "'-api' is not a valid repository name"),
    ("api,web,api", "names 'api' twice"),
])
def test_bad_service_lists(value: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_services(value)
    assert message in str(caught.value)


# -- times ------------------------------------------------------------------------------------

@pytest.mark.parametrize("created, expected_iso, day", [
    ("2026-11-21T20:50:51.32414271Z", "2026-11-21T20:50:51.324142Z", "2026-11-21"),
    # nanoseconds are truncated, never rounded into the next day
    ("2026-11-19T23:59:59.999999999Z", "2026-11-19T23:59:59.999999Z", "2026-11-19"),
    ("2026-11-19T10:02:03Z", "2026-11-19T10:02:03Z", "2026-11-19"),
    ("2026-11-19T10:02:03+02:00", "2026-11-19T08:02:03Z", "2026-11-19"),
    ("2026-11-19T01:00:00+05:00", "2026-11-18T20:00:00Z", "2026-11-18"),
    ("2026-11-19T10:02:03", "2026-11-19T10:02:03Z", "2026-11-19"),   # no zone: UTC, as Docker writes it
])
def test_created_times(created: str, expected_iso: str, day: str) -> None:
    moment = at(created)
    assert moment.tzinfo is not None
    assert iso_utc(moment) == expected_iso
    assert day_of(moment, UTC) == day


def test_nanosecond_times_keep_their_order() -> None:
    assert at("2026-11-21T20:50:51.000000001Z") < at("2026-11-21T20:50:51.32414271Z") < at("2026-11-21T20:50:52Z")


@pytest.mark.parametrize("created, tz, day", [
    ("2026-11-18T23:30:00Z", UTC, "2026-11-18"),
    ("2026-11-18T23:30:00Z", PARIS, "2026-11-19"),            # UTC+1 in November
    ("2026-06-18T22:30:00Z", PARIS, "2026-06-19"),            # UTC+2 in summer
    ("2026-06-18T21:30:00Z", PARIS, "2026-06-18"),
    ("2026-11-19T03:00:00Z", ZoneInfo("America/New_York"), "2026-11-18"),
])
def test_day_of_in_a_time_zone(created: str, tz: dt.tzinfo, day: str) -> None:
    assert day_of(at(created), tz) == day


# -- build_index ------------------------------------------------------------------------------

def test_build_index_document() -> None:
    document = index_of([rel("api", "512-master", "2026-11-19T10:02:03Z")], services=("api",))
    assert document == {
        "format": 2,
        "env": "prod",
        "branch": "master",
        "registry": REGISTRY,
        "generated_at": "2026-11-21T20:00:00Z",
        "timezone": "UTC",
        "all": ["api"],
        "rollbacks": {
            "2026-11-19": [{
                "service": "api", "tag": "512-master", "digest": "sha256:api-512-master",
                "created": "2026-11-19T10:02:03Z", "image": "registry.example.com/api:512-master",
            }],
        },
    }


def test_every_release_of_a_day_is_listed_in_created_order() -> None:
    releases = [
        rel("api", "510-master", "2026-11-18T17:59:00Z"),
        rel("web", "88-master", "2026-11-18T09:00:00Z"),
        rel("api", "508-master", "2026-11-18T08:05:00Z"),
        rel("api", "509-master", "2026-11-18T12:41:17.123456789Z"),
        rel("api", "506-master", "2026-11-17T09:00:00Z"),
    ]
    document = index_of(releases)
    assert tags_by_day(document) == {
        "2026-11-18": ["api 508-master", "api 509-master", "api 510-master", "web 88-master"],
        "2026-11-17": ["api 506-master"],
    }
    assert list(document["rollbacks"]) == ["2026-11-18", "2026-11-17"]   # newest first in the file too


def test_order_comes_from_created_not_from_tag_names() -> None:
    releases = [
        rel("api", "99-master", "2026-11-10T08:00:00Z"),
        rel("api", "10-master", "2026-11-11T08:00:00Z"),
        rel("api", "9-master", "2026-11-11T12:00:00Z"),
    ]
    document = index_of(releases, services=("api",))
    assert tags_by_day(document) == {"2026-11-11": ["api 10-master", "api 9-master"], "2026-11-10": ["api 99-master"]}
    index = parse_index(document, Path("rollback.json"))
    assert label(index, "2026-11-11") == "2026-11-11 — api 9-master"
    assert target_for(index, "api", "2026-11-11").tag == "9-master"   # type: ignore[union-attr]


def test_day_buckets_follow_the_configured_time_zone() -> None:
    releases = [rel("api", "1-master", "2026-11-18T23:30:00Z"), rel("api", "2-master", "2026-11-18T22:30:00Z")]
    assert tags_by_day(index_of(releases, services=("api",))) == {"2026-11-18": ["api 2-master", "api 1-master"]}
    paris = index_of(releases, services=("api",), tz=PARIS)
    assert tags_by_day(paris) == {"2026-11-19": ["api 1-master"], "2026-11-18": ["api 2-master"]}
    assert paris["timezone"] == "Europe/Paris"
    assert paris["rollbacks"]["2026-11-19"][0]["created"] == "2026-11-18T23:30:00Z"   # stored in UTC


@pytest.mark.parametrize("keep, expected", [
    (None, {"2026-11-19": ["api 3-master", "web 2-master"], "2026-11-18": ["api 2-master", "web 1-master"],
            "2026-11-17": ["api 1-master"]}),
    (2, {"2026-11-19": ["api 3-master", "web 2-master"], "2026-11-18": ["api 2-master", "web 1-master"]}),
    (1, {"2026-11-19": ["api 3-master", "web 2-master"]}),
])
def test_keep_is_per_service_and_keeps_the_newest(keep: int | None, expected: dict[str, list[str]]) -> None:
    releases = [
        rel("api", "3-master", "2026-11-19T08:00:00Z"),
        rel("api", "1-master", "2026-11-17T08:00:00Z"),
        rel("api", "2-master", "2026-11-18T08:00:00Z"),
        rel("web", "1-master", "2026-11-18T09:00:00Z"),
        rel("web", "2-master", "2026-11-19T09:00:00Z"),
    ]
    assert tags_by_day(index_of(releases, keep=keep)) == expected


def test_services_without_releases_stay_in_all() -> None:
    document = index_of([rel("api", "1-master", "2026-11-17T08:00:00Z")], services=("api", "web", "worker"))
    assert document["all"] == ["api", "web", "worker"]
    assert tags_by_day(document) == {"2026-11-17": ["api 1-master"]}


# -- reading the index back -------------------------------------------------------------------

SAMPLE = [
    rel("api", "508-master", "2026-11-18T08:05:00Z"),
    rel("api", "510-master", "2026-11-18T17:59:00Z"),
    rel("web", "87-master", "2026-11-17T09:00:00Z"),
    rel("api", "512-master", "2026-11-19T11:00:00Z"),
    rel("web", "88-master", "2026-11-19T10:00:00Z"),
    rel("api", "515-master", "2026-11-21T09:30:00Z"),
]


@pytest.fixture
def sample_index(tmp_path: Path):
    write_index(tmp_path, index_of(SAMPLE))
    return read_index(tmp_path)


def test_index_round_trips_through_the_file(sample_index) -> None:
    assert sample_index.env == "prod" and sample_index.branch == "master"
    assert sample_index.services == ("api", "web")
    assert [r.tag for r in sample_index.releases("api")] == ["508-master", "510-master", "512-master", "515-master"]
    assert sample_index.releases("web")[0].created == at("2026-11-17T09:00:00Z")


def test_dates_are_newest_first(sample_index) -> None:
    assert sample_index.dates() == ["2026-11-21", "2026-11-19", "2026-11-18", "2026-11-17"]


@pytest.mark.parametrize("day, text", [
    ("2026-11-19", "2026-11-19 — api 512-master, web 88-master"),
    ("2026-11-18", "2026-11-18 — api 510-master"),       # the day's newest release of api only
    ("2026-11-21", "2026-11-21 — api 515-master"),
])
def test_labels(sample_index, day: str, text: str) -> None:
    assert label(sample_index, day) == text


@pytest.mark.parametrize("service, day, tag", [
    ("api", "2026-11-19", "512-master"),    # released that day
    ("api", "2026-11-18", "510-master"),    # the last of several releases that day
    ("web", "2026-11-18", "87-master"),     # no release that day: the nearest older one
    ("web", "2026-11-21", "88-master"),
    ("api", "2026-11-20", "512-master"),    # a date not in the index still follows the rule
    ("api", "2026-11-17", None),            # no release at or before the date
    ("web", "2026-11-16", None),
    ("worker", "2026-11-21", None),         # a service the index does not know
])
def test_target_for_follows_the_date_rule(sample_index, service: str, day: str, tag: str | None) -> None:
    target = target_for(sample_index, service, day)
    assert (target.tag if target else None) == tag


def test_target_for_uses_the_end_of_the_day_in_the_index_zone(tmp_path: Path) -> None:
    releases = [rel("api", "1-master", "2026-11-18T12:00:00Z"), rel("api", "2-master", "2026-11-18T23:30:00Z")]
    write_index(tmp_path, index_of(releases, services=("api",), tz=PARIS))
    index = read_index(tmp_path)
    assert index.tz == PARIS
    assert target_for(index, "api", "2026-11-18").tag == "1-master"   # type: ignore[union-attr]
    assert target_for(index, "api", "2026-11-19").tag == "2-master"   # type: ignore[union-attr]


def test_check_offered_accepts_an_offered_date(sample_index) -> None:
    check_offered(sample_index, "2026-11-18")


@pytest.mark.parametrize("day, nearest", [
    ("2026-11-20", "nearest dates: 2026-11-21, 2026-11-19, 2026-11-18"),
    ("2026-11-01", "nearest dates: 2026-11-19, 2026-11-18, 2026-11-17"),
    ("2027-01-01", "nearest dates: 2026-11-21, 2026-11-19, 2026-11-18"),
])
def test_check_offered_names_the_nearest_dates(sample_index, day: str, nearest: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_offered(sample_index, day)
    assert f"--date {day} is not offered" in str(caught.value)
    assert nearest in str(caught.value)
    assert caught.value.exit_code == 2


def test_check_offered_on_an_empty_index(tmp_path: Path) -> None:
    index = parse_index({**index_of([]), "rollbacks": {}}, tmp_path / "rollback.json")
    with pytest.raises(UsageError, match="offers no dates"):
        check_offered(index, "2026-11-19")


GOOD = index_of(SAMPLE)


def _without(key: str) -> dict:
    return {k: v for k, v in GOOD.items() if k != key}


@pytest.mark.parametrize("text, message", [
    (json.dumps(GOOD)[:200], "invalid JSON at line 1 (truncated?)"),
    (json.dumps(GOOD, indent=2)[:300], "(truncated?)"),
    ("", "invalid JSON"),
    ('["not", "an", "index"]', "it is not a JSON object"),
    ('{"name": "some-package", "version": "1.0.0"}', "format is 'missing', this tool reads format 2"),
    (json.dumps({**GOOD, "format": 1}), "format is 1, this tool reads format 2"),
    (json.dumps({**GOOD, "format": "2"}), "format is '2', this tool reads format 2"),
    # the original script's file: no format, rollbacks keyed by date
    (json.dumps({"all": ["api"], "rollbacks": {"2026-11-19": {"api": "512-master"}}}), "format is 'missing'"),
    (json.dumps(_without("env")), "'env' is missing or not a str"),
    (json.dumps({**GOOD, "all": "api,web"}), "'all' is missing or not a list"),
    (json.dumps({**GOOD, "rollbacks": []}), "'rollbacks' is missing or not a dict"),
    (json.dumps({**GOOD, "timezone": 1}), "'timezone' is not a string"),
    (json.dumps({**GOOD, "rollbacks": {"19/11/2026": []}}), "date key '19/11/2026' is not YYYY-MM-DD"),
    (json.dumps({**GOOD, "rollbacks": {"2026-11-19": {"api": "512-master"}}}), "the releases of 2026-11-19 are not a list"),
    (json.dumps({**GOOD, "rollbacks": {"2026-11-19": ["api"]}}), "a release of 2026-11-19 is not an object"),
    (json.dumps({**GOOD, "rollbacks": {"2026-11-19": [{"service": "api", "tag": "1-master"}]}}),
     "a release of 2026-11-19 lacks created, image"),
    (json.dumps({**GOOD, "rollbacks": {"2026-11-19": [{"service": "api", "tag": "1-master", "created": "yesterday",
                                                        "image": "r/api:1-master"}]}}),
     "release api:1-master has an unreadable created time"),
])
def test_unusable_rollback_json_is_named_clearly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rollback.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        read_index(tmp_path)
    error = str(caught.value)
    assert message in error
    assert error.startswith(f"{path} is not a usable rollback.json")
    assert "run `rollback.py get` again" in error
    assert caught.value.exit_code == 2


def test_unknown_time_zone_in_the_file(tmp_path: Path) -> None:
    (tmp_path / "rollback.json").write_text(json.dumps({**GOOD, "timezone": "Mars/Olympus"}), encoding="utf-8")
    index = read_index(tmp_path)
    with pytest.raises(UsageError, match="unknown time zone 'Mars/Olympus'"):
        index.tz


def test_missing_rollback_json_says_to_run_get(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        read_index(tmp_path)
    assert re.search(r"no rollback\.json in .*; run `rollback\.py get --repo=\.\.\. --env=\.\.\.` first", str(caught.value))


def test_unreadable_created_in_the_registry_is_malformed() -> None:
    from fleetrewind.registry.client import MalformedManifest

    for value in (None, "", "yesterday", 20261119):
        with pytest.raises(MalformedManifest):
            parse_created(value, "api:1-master config")
