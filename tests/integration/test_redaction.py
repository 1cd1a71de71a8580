"""Redaction end to end: credentials in a bad Marathon URL, a verbose traceback, weak and strong
passwords through `get` and `run` (the redaction rules themselves are in tests/unit/test_redaction.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import fleetrewind.commands.dates as dates_command
from marathonsim import Simulator
from testbed.demo import sample_apps
from tests.fleet_support import Indexed, index_sample_fleet
from tests.unit.test_redaction import STRONG, fresh_registry  # noqa: F401  (autouse)


PREFIX = "t/rel-redact/"


NAMES = ["api", "worker", "auth", "web"]


REPOS = "--repo=" + ",".join(PREFIX + n for n in NAMES)


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[PREFIX + n for n in NAMES],
                              dump=tmp_path_factory.mktemp("clean-get"))


def everything(result: Any, *folders: Path) -> str:
    """stdout, stderr and every file written: all a reader could see."""
    texts = [result.out, result.err]
    for folder in folders:
        texts += [p.read_text(errors="replace") for p in sorted(folder.rglob("*")) if p.is_file()]
    return "\n".join(texts)


@pytest.mark.parametrize("url", [
    f"http://ops:{STRONG}@127.0.0.1:99999",  # a port out of range
    f"http://ops:{STRONG}@[::1",  # an unclosed IPv6 literal
    f"http://ops:{STRONG}@127.0.0.1:0/",  # nothing listens on port 0
])
def test_a_bad_marathon_port_or_host_shows_no_credentials(indexed: Indexed, cli, tmp_path: Path, url: str) -> None:
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    result = cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", f"--marathon={url}", "--verbose")
    assert result.code != 0
    assert STRONG not in everything(result, tmp_path)


def test_a_verbose_traceback_of_an_internal_error_shows_no_credentials(
        monkeypatch: pytest.MonkeyPatch, indexed: Indexed, cli, tmp_path: Path) -> None:
    """A bug whose message carries a URL with credentials and a password: the traceback is redacted."""
    (tmp_path / "rollback.json").write_text(indexed.index_text)

    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError(f"GET http://deploy:{STRONG}x@marathon:8080/v2/apps failed; password={STRONG}")

    monkeypatch.setattr(dates_command, "read_index", broken)
    result = cli("dates", f"--dump={tmp_path}", "--verbose", env={"MARATHON_PASSWORD": STRONG})
    assert result.code == 1
    assert "internal error: RuntimeError" in result.err and "Traceback" in result.err
    assert STRONG not in result.err


@pytest.mark.parametrize("password", ["master", "pw12", "512", "Prod"])
def test_a_weak_password_is_warned_about_and_does_not_mangle_the_output(
        indexed: Indexed, cli, tmp_path: Path, password: str) -> None:
    """A password equal to a branch name (or short, or all digits) would hide every tag containing it,
    which tells the reader the password; it is hidden only where credentials occur."""
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    result = cli("dates", f"--dump={tmp_path}", "--json", env={"MARATHON_PASSWORD": password})
    assert result.code == 0, result.err
    assert "warning: MARATHON_PASSWORD is short or common" in result.err
    assert "<hidden>" not in result.out
    assert json.loads(result.out) == json.loads(
        cli("dates", f"--dump={tmp_path}", "--json").out), "the output is the same as without the password"


def test_a_weak_password_in_get_leaves_tags_and_files_intact(indexed: Indexed, cli, tmp_path: Path) -> None:
    result = cli("get", REPOS, "--env=prod", f"--dump={tmp_path}", "--no-cache",
                 env={"DOCKER_REGISTRY": indexed.registry_url, "MARATHON_PASSWORD": "master"})
    assert result.code == 0, result.err
    assert "<hidden>" not in everything(result, tmp_path)
    assert json.loads((tmp_path / "rollback.json").read_text())["rollbacks"] == indexed.index["rollbacks"]


def test_a_strong_password_is_hidden_everywhere_and_not_warned_about(indexed: Indexed, cli, tmp_path: Path) -> None:
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    for app in apps:  # a secret of the app's own: never shown either
        app["env"] = {"DB_PASSWORD": "app-db-s3cret-value", "PORT": "8080"}
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    with Simulator(apps=apps, deploy_seconds=0.1, auth=("ops", STRONG)) as sim:
        result = cli("run", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", "--user=ops", "--timeout=2",
                     "--verbose", env={"MARATHON_URL": sim.url, "MARATHON_PASSWORD": STRONG,
                                       "BUILD_URL": f"ci:{STRONG}@jenkins.example.com/job/7/"})
    assert result.code == 0, result.err
    seen = everything(result, tmp_path)
    assert "is short or common" not in result.err
    assert STRONG not in seen and "app-db-s3cret-value" not in seen
    assert base64.b64encode(f"ops:{STRONG}".encode()).decode() not in seen
