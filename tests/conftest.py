"""Fixtures and hooks both tiers use. Every test starts with none of the tool's environment variables set.

The folder is the tier: `tests/unit/` (socket-free, `make test-fast`) and `tests/integration/`
(real registry, simulator, browser, Ansible); `tests/unit/conftest.py` refuses sockets."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

TOOL_VARS = (
    "DOCKER_REGISTRY", "REGISTRY_USER", "REGISTRY_PASSWORD", "DOCKER_CONFIG", "MARATHON_URL", "MARATHON_USER",
    "MARATHON_PASSWORD", "MARATHON_AUTH", "ROLLBACK_CONFIG", "ROLLBACK_CA_BUNDLE", "ROLLBACK_TZ",
    "ROLLBACK_CACHE_DIR", "ROLLBACK_LEDGER", "SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_CHANNEL",
    "BUILD_USER", "BUILD_URL", "ROLLBACK_LOCK_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "ROLLBACK_STATE", "ROLLBACK_ZK_AUTH",
)


_SERIAL = itertools.count()  # each test's home: the next number under the session's folder


@pytest.fixture(scope="session")
def _homes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder under which each test gets a home of its own, named but not made: a test's tool makes
    what it writes (its own ``tmp_path`` for every test would cost a folder and a link each, a fifth of
    the unit tier's time)."""
    return tmp_path_factory.mktemp("homes")


@pytest.fixture(autouse=True)
def clean_tool_env(monkeypatch: pytest.MonkeyPatch, _homes: Path) -> None:
    """A developer's shell must not leak into a test (nor their ~/.docker/config.json)."""
    for name in TOOL_VARS:
        monkeypatch.delenv(name, raising=False)
    home = _homes / f"{next(_SERIAL)}"
    monkeypatch.setenv("DOCKER_CONFIG", str(home / "no-docker-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "xdg-state"))
    # The lock folder: per test, so parallel test runs never share an environment's lock (the default
    # one is machine-wide: /run/lock/fleetrewind).
    monkeypatch.setenv("ROLLBACK_LOCK_DIR", str(home / "xdg-state" / "fleetrewind"))


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


# --- tiers: the folder is the tier; `make test-fast` runs tests/unit (`pytest --fast` does the same) ---

UNIT_DIR = Path(__file__).parent / "unit"

# Fixtures that start a server or talk to one: a test that uses one (directly or through another
# fixture), or is marked `network` or `slow`, belongs in tests/integration.
NETWORK_FIXTURES = frozenset({
    "registry", "registry_basic", "registry_token", "registry_tls", "proxy_factory", "slack_recorder",
    "sim", "make_sim", "start_sim", "tls_sim", "marathon_tls", "health_server", "silent_server",
    "world", "make_world", "stage", "make_stage", "http", "hostile", "hostile_tls",
})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fast", action="store_true",
                     help="run only the unit tier (tests/unit: no sockets, no servers)")


def needs_servers(item: pytest.Item) -> bool:
    return bool(NETWORK_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.get_closest_marker("network") or item.get_closest_marker("slow"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped, misplaced = [], [], []
    for item in items:
        unit = UNIT_DIR in Path(str(item.path)).parents
        if unit:
            item.add_marker(pytest.mark.unit)
            if needs_servers(item):
                misplaced.append(item.nodeid)
        (kept if unit or not config.getoption("--fast") else dropped).append(item)
    if misplaced:
        raise pytest.UsageError("these tests use a server, a subprocess suite or a socket but sit in "
                                "tests/unit; move them to tests/integration: " + ", ".join(misplaced))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
