"""The Marathon version cache keeps nothing from which a secret can be recovered (#22 item 1).

It used to keep an HMAC key beside keyed hashes of every env value: a six-digit secret came back
from the file in about a second. Now a secret field (every env value and secret, a field named like
one, any value holding a credential or a known secret) is kept by name only, and no key is written.
The test of each case: two fleets that differ only in the secret's value leave identical cache
files, so the file says nothing about the value. Secret fields of a cached version are then
compared with nothing ("not compared"), never reported as changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.platform.timeline import changed_fields, not_compared
from fleetrewind.marathon.definition import definition_of
from fleetrewind.marathon.versioncache import VersionCache
from fleetrewind.secret import Secret

MARATHON = "http://marathon.example:8080"
VERSION = "2026-11-19T10:05:00.123Z"


pytestmark = pytest.mark.usefixtures("fresh_secrets")


def app(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "/prod/api", "version": VERSION, "instances": 2, "cpus": 0.5, "mem": 256,
                            "container": {"type": "DOCKER", "docker": {"image": "registry.example.com/api:1"}},
                            "env": {"LOG_LEVEL": "info"}}
    base.update(extra)
    return base


def cache_file(folder: Path, definition_app: dict[str, Any]) -> str:
    """The cache file written after one version of ``definition_app`` was read."""
    cache = VersionCache(folder, MARATHON)
    cache.store("/prod/api", definition_of(definition_app, cache.key))
    cache.save()
    assert cache.path is not None
    return cache.path.read_text(encoding="utf-8")


def same_file_for_both_values(tmp_path: Path, one: dict[str, Any], other: dict[str, Any]) -> str:
    first = cache_file(tmp_path / "one", one)
    assert first == cache_file(tmp_path / "other", other), "the cache file depends on the secret's value"
    return first


def test_a_six_digit_env_secret_leaves_no_trace_and_no_key(tmp_path: Path) -> None:
    """The example of #22 item 1: DB_PASSWORD=123456."""
    text = same_file_for_both_values(tmp_path, app(env={"DB_PASSWORD": "123456"}),
                                     app(env={"DB_PASSWORD": "654321"}))
    data = json.loads(text)
    assert "key" not in data
    assert data["apps"]["/prod/api"][VERSION]["secret_fields"] == ["env.DB_PASSWORD"]


@pytest.mark.parametrize("one, other", [
    # every env value, whatever its name: a URL with a password in it is a secret too
    ({"env": {"DATABASE": "postgres://app:s3cr3t-one@db/app"}}, {"env": {"DATABASE": "postgres://app:other@db/app"}}),
    # an app's secrets (Marathon's secrets plugin)
    ({"secrets": {"db": {"source": "prod/db-one"}}}, {"secrets": {"db": {"source": "prod/db-two"}}}),
    # a label named like a secret
    ({"labels": {"BASIC_AUTH_PASSWORD": "4711"}}, {"labels": {"BASIC_AUTH_PASSWORD": "1174"}}),
    # a command line that carries a password
    ({"cmd": "./serve --password=4711 --port=$PORT"}, {"cmd": "./serve --password=1174 --port=$PORT"}),
    # a fetch URI with user:password@
    ({"fetch": [{"uri": "https://ops:4711@artifacts.example/conf.tgz"}]},
     {"fetch": [{"uri": "https://ops:1174@artifacts.example/conf.tgz"}]}),
    # docker parameters that pass a secret to the container
    ({"container": {"type": "DOCKER", "docker": {"image": "registry.example.com/api:1",
                                                 "parameters": [{"key": "env", "value": "API_TOKEN=4711"}]}}},
     {"container": {"type": "DOCKER", "docker": {"image": "registry.example.com/api:1",
                                                 "parameters": [{"key": "env", "value": "API_TOKEN=1174"}]}}}),
], ids=["env URL", "secrets", "secret-named label", "cmd --password", "fetch userinfo", "docker parameter"])
def test_other_secret_fields_leave_no_trace(tmp_path: Path, one: dict[str, Any], other: dict[str, Any]) -> None:
    same_file_for_both_values(tmp_path, app(**one), app(**other))


def test_a_value_holding_a_strong_secret_this_run_knows_leaves_no_trace(tmp_path: Path) -> None:
    Secret("Zq8-v3ry-s3cret-pw", "MARATHON_PASSWORD")
    Secret("Qx7-an0ther-s3cret", "REGISTRY_PASSWORD")
    same_file_for_both_values(tmp_path, app(args=["--key", "Zq8-v3ry-s3cret-pw"]),
                              app(args=["--key", "Qx7-an0ther-s3cret"]))


def test_a_cache_of_the_old_format_is_rewritten_without_its_key_and_hashes(tmp_path: Path) -> None:
    old = VersionCache(tmp_path, MARATHON)
    assert old.path is not None
    old.path.write_text(json.dumps({"format": 1, "key": "00" * 32, "apps": {"/prod/api": {VERSION: {
        "version": VERSION, "image": "registry.example.com/api:1", "instances": 2,
        "fields": {"env.DB_PASSWORD": "9f2c4e1a7b3d5f60a1b2c3d4"}}}}}), encoding="utf-8")
    cache = VersionCache(tmp_path, MARATHON)
    assert cache.lookup("/prod/api", VERSION) is None
    cache.save()
    assert json.loads(old.path.read_text(encoding="utf-8")) == {"format": 2, "apps": {}}


def test_secret_fields_read_back_from_the_cache_are_not_compared_and_not_a_drift(tmp_path: Path) -> None:
    """#22 item 8's example: a cached version's env.DB_PASSWORD must not show as a config drift."""
    cache = VersionCache(tmp_path, MARATHON)
    live = definition_of(app(env={"DB_PASSWORD": "123456"}), cache.key)
    cache.store("/prod/api", live)
    cache.save()
    cached = VersionCache(tmp_path, MARATHON).lookup("/prod/api", VERSION)
    assert cached is not None
    now = definition_of(app(env={"DB_PASSWORD": "123456"}), cache.key)
    assert changed_fields(cached, now) == []
    assert not_compared(cached, now) == {"env.DB_PASSWORD"}
    assert cached.same_config(now)


def test_secret_fields_read_in_this_run_are_compared(tmp_path: Path) -> None:
    key = VersionCache(tmp_path, MARATHON).key
    then = definition_of(app(env={"DB_PASSWORD": "123456", "OLD": "1"}), key)
    now = definition_of(app(env={"DB_PASSWORD": "654321", "NEW": "1"}, cpus=1.0), key)
    assert changed_fields(then, now) == ["cpus", "env.DB_PASSWORD", "env.NEW", "env.OLD"]
    assert not_compared(then, now) == set()
