"""Shared fixtures. Every test starts with none of the tool's environment variables set."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

pytest_plugins = ["tests.registry_fixtures"]

TOOL_VARS = (
    "DOCKER_REGISTRY", "REGISTRY_USER", "REGISTRY_PASSWORD", "DOCKER_CONFIG", "MARATHON_URL", "MARATHON_USER",
    "MARATHON_PASSWORD", "MARATHON_AUTH", "ROLLBACK_CONFIG", "ROLLBACK_CA_BUNDLE", "ROLLBACK_TZ",
    "ROLLBACK_CACHE_DIR", "ROLLBACK_LEDGER", "SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_CHANNEL",
    "BUILD_USER", "BUILD_URL", "ROLLBACK_LOCK_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def clean_tool_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's shell must not leak into a test (nor their ~/.docker/config.json)."""
    for name in TOOL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    # The default lock folder: per test, so parallel test runs never share an environment's lock.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli() -> Iterator["object"]:
    """Call ``main([...])`` in-process and capture its code, stdout and stderr."""
    import os

    from fleetrewind.cli import main

    def call(*argv: str, env: dict[str, str] | None = None) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        environ = dict(os.environ)
        environ.update(env or {})
        code = main(list(argv), environ=environ, stdout=out, stderr=err)
        return CliResult(code, out.getvalue(), err.getvalue())

    yield call
