"""Files and answers that come back in are untrusted: the registry cache, registry dates and tag
lists, tag names in other scripts' digits, and a Marathon password outside Latin-1.

A bad cache entry is dropped with a warning (and fetched again), never fatal; a registry answer
of the wrong shape is one clear error; nothing reaches rollback.json unchecked.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

import pytest

from fleetrewind.registry.cache import DigestCache
from fleetrewind.registry.client import MalformedManifest, parse_created
from fleetrewind.releases.tags import DEFAULT_TAG_PATTERN, compile_tag_pattern, parse_tag
from marathonsim import Simulator
from testbed.demo import sample_apps
from testbed.proxy import canned
from tests.fleet_support import Indexed, index_sample_fleet

PREFIX = "t/rel-readback/"
NAMES = ["api", "worker", "auth", "web"]
REGISTRY_URL = "https://registry.example.com"
GOOD = "sha256:" + "a" * 64


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[PREFIX + n for n in NAMES],
                              dump=tmp_path_factory.mktemp("clean-get"))


def write_cache(folder: Path, url: str, digests: Any, tags: Any) -> Path:
    path = DigestCache(folder, url).path
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": 1, "digests": digests, "tags": tags}))
    return path


@pytest.mark.parametrize("digests, tags, kept", [
    ({GOOD: "not a date"}, {"api": {"1-master": GOOD}}, 0),  # the documented example
    ({GOOD: "0001-01-01T00:00:00+01:00"}, {"api": {"1-master": GOOD}}, 0),  # year 1 overflows a time zone
    ({GOOD: "9999-12-31T23:59:59-05:00"}, {"api": {"1-master": GOOD}}, 0),
    ({"md5:x": "2026-11-19T10:00:00Z", GOOD: "2026-11-19T10:00:00Z"}, {"api": {"1-master": GOOD}}, 1),
    ({GOOD: 20261119}, {"api": {"1-master": GOOD}}, 0),
    ({GOOD: "2026-11-19T10:00:00Z"}, {"api": {"1-master": GOOD, "bad tag;x": GOOD}, "../etc": {"x": GOOD}}, 1),
    ({GOOD: "2026-11-19T10:00:00Z"}, {"api": "not a map"}, 0),
])
def test_a_cache_entry_that_is_malformed_is_dropped_with_a_warning_never_fatal(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, digests: Any, tags: Any, kept: int) -> None:
    write_cache(tmp_path, REGISTRY_URL, digests, tags)
    with caplog.at_level(logging.WARNING, logger="fleetrewind"):
        cache = DigestCache(tmp_path, REGISTRY_URL)
    assert len([t for m in cache.tags.values() for t in m]) == kept
    assert all(cache.lookup_tag(r, t) for r, m in cache.tags.items() for t in m)
    assert any("malformed entries of the registry cache" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("text", ["[1, 2]", '{"format": 1, "digests": [], "tags": 5}', "\xff\xfe", "null"])
def test_a_cache_file_that_is_not_a_cache_is_ignored(tmp_path: Path, text: str) -> None:
    path = DigestCache(tmp_path, REGISTRY_URL).path
    assert path is not None
    path.write_text(text, encoding="latin-1")
    cache = DigestCache(tmp_path, REGISTRY_URL)
    assert cache.tags == {} and cache.created == {}


def test_get_with_a_damaged_cache_entry_succeeds_and_refetches_it(indexed: Indexed, tmp_path: Path, cli) -> None:
    cache_dir, dump = tmp_path / "cache", tmp_path / "dump"
    argv = ("get", "--repo=" + ",".join(PREFIX + n for n in NAMES), "--env=prod", f"--dump={dump}",
            f"--cache-dir={cache_dir}", f"--registry={indexed.registry_url}")
    assert cli(*argv).code == 0
    [path] = list(cache_dir.glob("registry-*.json"))
    data = json.loads(path.read_text())
    data["digests"] = {digest: "yesterday" for digest in data["digests"]}
    path.write_text(json.dumps(data))

    result = cli(*argv)

    assert result.code == 0, result.err
    assert "internal error" not in result.err
    assert "malformed entries of the registry cache" in result.err
    assert json.loads((dump / "rollback.json").read_text())["rollbacks"] == indexed.index["rollbacks"]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00",
                                   "1969-12-31T23:59:59Z", "２０２６-11-19T10:00:00Z"])
def test_a_registry_date_outside_real_build_times_is_one_clear_error(value: str) -> None:
    with pytest.raises(MalformedManifest, match="years 1970-8999 are accepted"):
        parse_created(value, "manifest api:1-master config")


def test_the_epoch_of_reproducible_builds_is_a_date() -> None:
    assert parse_created("1970-01-01T00:00:00Z", "x").year == 1970


@pytest.mark.parametrize("tag", ["５１２-master", "٥١٢-master", "१२-master", "12³-master"])
def test_tags_with_digits_of_other_scripts_follow_no_pattern(tag: str) -> None:
    assert parse_tag(tag, compile_tag_pattern(DEFAULT_TAG_PATTERN)) is None
    assert parse_tag(tag, compile_tag_pattern(r"^(?P<build>\d+)-(?P<branch>\w+)$")) is None


@pytest.mark.parametrize("body", [b'{"name": "x", "tags": 5}', b'{"name": "x", "tags": "512-master"}',
                                  b'{"name": "x", "tags": [512, null]}', b'{"name": "x", "tags": {"a": 1}}'])
def test_a_tag_list_whose_tags_are_not_strings_is_one_clear_error(
        indexed: Indexed, proxy_factory: Callable[..., Any], tmp_path: Path, cli, body: bytes) -> None:
    def rewrite(path: str) -> Any:
        return canned(200, body, content_type="application/json") if "/tags/list" in path else None

    proxy = proxy_factory(indexed.registry_url, rewrite=rewrite)
    result = cli("get", f"--repo={PREFIX}api", "--env=prod", f"--dump={tmp_path}", f"--registry={proxy.url}",
                 "--no-cache")

    assert result.code == 1, result.err
    [line] = [x for x in result.err.splitlines() if x.startswith("error:")]
    assert "whose 'tags' is not a list of strings" in line
    assert "internal error" not in result.err
    assert not (tmp_path / "rollback.json").exists()


@pytest.mark.parametrize("password", ["pässwörd-€-2026", "пароль-на-проде", "密码密码密码密码"])
def test_a_marathon_password_outside_latin_1_is_sent_as_utf_8(indexed: Indexed, tmp_path: Path, cli,
                                                              password: str) -> None:
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    with Simulator(apps=sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}"), auth=("ops", password)) as sim:
        result = cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", "--user=ops",
                     env={"MARATHON_URL": sim.url, "MARATHON_PASSWORD": password})
    assert result.code == 0, result.err
    assert "internal error" not in result.err and password not in result.out + result.err
