"""The integration tier: real servers (the Docker registry, the Marathon simulator, Slack and proxy
stand-ins), a browser, Ansible, subprocess suites. The registry fixtures live in registry_fixtures.py."""

from __future__ import annotations

from tests.integration.registry_fixtures import (  # noqa: F401  (fixtures, found by name)
    proxy_factory, registry, registry_basic, registry_tls, registry_token, slack_recorder, unique_repo)

import uuid  # noqa: E402
from typing import Iterator  # noqa: E402

import pytest  # noqa: E402

from testbed.zookeeper import ZooKeeper  # noqa: E402


@pytest.fixture(scope="session")
def zookeeper() -> Iterator[ZooKeeper]:
    """One real ZooKeeper server (Debian's package) for the session; ``stop()``/``start()`` keep its port."""
    with ZooKeeper() as server:
        yield server


@pytest.fixture
def zk(zookeeper: ZooKeeper) -> Iterator[ZooKeeper]:
    """The session's server, running (a test that stopped it gets it back) with a chroot of this test's own."""
    if zookeeper.proc is None:
        zookeeper.start()
    zookeeper.chroot = f"/t-{uuid.uuid4().hex[:12]}"  # type: ignore[attr-defined]
    yield zookeeper
    if zookeeper.proc is None:
        zookeeper.start()
