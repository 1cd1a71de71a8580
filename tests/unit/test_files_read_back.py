"""Files and answers that come back in are untrusted: the registry cache, registry dates and tag
lists, tag names in other scripts' digits, and a Marathon password outside Latin-1.

A bad cache entry is dropped with a warning (and fetched again), never fatal; a registry answer
of the wrong shape is one clear error; nothing reaches rollback.json unchecked. The cases that
need the registry are in tests/integration/test_files_read_back.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.registry.cache import DigestCache
from fleetrewind.registry.client import MalformedManifest, parse_created
from fleetrewind.releases.tags import DEFAULT_TAG_PATTERN, compile_tag_pattern, parse_tag


REGISTRY_URL = "https://registry.example.com"


GOOD = "sha256:" + "a" * 64


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
