"""Files and answers that come back in are untrusted, end to end: `get` over a damaged cache entry,
a tag list of the wrong shape from the registry, a Marathon password outside Latin-1 on the wire.
The pure cases are in tests/unit/test_files_read_back.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from marathonsim import Simulator
from testbed.demo import sample_apps
from testbed.canned import canned
from tests.fleet_support import Indexed, index_sample_fleet


PREFIX = "t/rel-readback/"


NAMES = ["api", "worker", "auth", "web"]


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[PREFIX + n for n in NAMES],
                              dump=tmp_path_factory.mktemp("clean-get"))


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
