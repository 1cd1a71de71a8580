"""Pytest fixtures for the real registry and its helpers (load with ``pytest_plugins``).

Registries are session-scoped and shared: give each test its own repository with
``unique_repo``.  A missing docker-registry binary is an error, never a skip.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Callable, Iterator

import pytest

from testbed.proxy import RegistryProxy
from testbed.registry_server import RegistryServer
from testbed.slack_recorder import SlackRecorder
from testbed.tls import make_server_tls
from testbed.token_issuer import TokenIssuer

REGISTRY_USER = "ci"
REGISTRY_PASSWORD = "s3cret-registry-pw"

_repo_counter = itertools.count(1)


@pytest.fixture(scope="session")
def registry() -> Iterator[RegistryServer]:
    """A plain registry (no auth, HTTP, schema 1 pushes enabled)."""
    with RegistryServer(schema1=True) as server:
        yield server


@pytest.fixture(scope="session")
def registry_basic() -> Iterator[RegistryServer]:
    """A registry with Basic auth; ``.auth`` is ("ci", "s3cret-registry-pw")."""
    with RegistryServer(htpasswd=[(REGISTRY_USER, REGISTRY_PASSWORD)]) as server:
        yield server


@pytest.fixture(scope="session")
def registry_token() -> Iterator[RegistryServer]:
    """A registry with Bearer token auth; ``.token_auth`` is its TokenIssuer, ``.auth`` the user."""
    with TokenIssuer({REGISTRY_USER: REGISTRY_PASSWORD}) as issuer:
        with RegistryServer(token_auth=issuer) as server:
            yield server


@pytest.fixture(scope="session")
def registry_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry over HTTPS; ``.url`` is https://127.0.0.1:<port>, ``.ca_bundle`` the CA PEM."""
    paths = make_server_tls(tmp_path_factory.mktemp("registry-tls"))
    with RegistryServer(tls=(paths.cert, paths.key), ca_bundle=paths.ca_cert) as server:
        yield server


@pytest.fixture
def proxy_factory() -> Iterator[Callable[..., RegistryProxy]]:
    """``proxy_factory(upstream_url, **options)`` -> a started RegistryProxy, stopped after the test."""
    started: list[RegistryProxy] = []

    def make(upstream: str, **options: Any) -> RegistryProxy:
        proxy = RegistryProxy(upstream, **options).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()


@pytest.fixture
def slack_recorder() -> Iterator[SlackRecorder]:
    """A started SlackRecorder (mode "ok"); see its ``webhook_url``, ``api_url``, ``received``."""
    with SlackRecorder() as recorder:
        yield recorder


@pytest.fixture
def unique_repo(request: pytest.FixtureRequest) -> str:
    """A repository name no other test in this session uses, e.g. ``t/test-push-list-7``."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60].strip("-") or "test"
    return f"t/{name}-{next(_repo_counter)}"
