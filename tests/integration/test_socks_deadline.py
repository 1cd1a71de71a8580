"""A SOCKS proxy is under the same total deadline as every other connection (issue #22, item 10).

urllib3's SOCKS pools bring connection classes of their own, which the deadline's watchdog did
not cover, and the SOCKS handshake happens before the connection has a socket the watchdog can
shut: a proxy trickling its handshake held a request for as long as it liked.
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from fleetrewind.errors import UnreachableError
from fleetrewind.registry.auth import RegistryCredentials
from fleetrewind.registry.client import RegistryClient
from fleetrewind.transport import TLS, Transport
from testbed.hostile import Behaviour, HostileRegistry
from testbed.socks_proxy import SocksProxy


@pytest.fixture
def hostile() -> Iterator[HostileRegistry]:
    with HostileRegistry() as server:
        server.behave("api", Behaviour(tags=["1-master", "2-master"]))
        yield server


def client(server: HostileRegistry, *, timeout: float = 1.0, deadline: float = 1.5) -> RegistryClient:
    transport = Transport(server.url, tls=TLS(), timeout=timeout, deadline=deadline, name="registry")
    return RegistryClient(transport, credentials=RegistryCredentials(user=None, password=None))


@pytest.mark.parametrize("variable", ["ALL_PROXY", "HTTP_PROXY", "all_proxy"])
def test_a_socks_proxy_carries_the_requests(hostile: HostileRegistry, monkeypatch: pytest.MonkeyPatch,
                                            variable: str) -> None:
    with SocksProxy() as proxy:
        monkeypatch.setenv(variable, proxy.url)
        assert sorted(client(hostile).list_tags("api")) == ["1-master", "2-master"]
        assert proxy.accepted >= 1


@pytest.mark.parametrize("interval", [0.3, 0.6])
def test_a_socks_handshake_trickled_under_the_read_timeout_is_cut_at_the_deadline(
        hostile: HostileRegistry, monkeypatch: pytest.MonkeyPatch, interval: float) -> None:
    """12 handshake bytes, each under the 1 s read timeout: 3.6-7.2 s per attempt, times the retries."""
    with SocksProxy(interval) as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        started = time.monotonic()
        with pytest.raises(UnreachableError) as slow:
            client(hostile).list_tags("api")
        took = time.monotonic() - started
    assert "within 1.5 s (the deadline of one request" in str(slow.value)
    assert took < 1.5 + 0.7  # the deadline, not handshakes times retries


def test_a_socks_proxy_that_never_answers_is_cut_at_the_deadline(hostile: HostileRegistry,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with SocksProxy(30.0) as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        started = time.monotonic()
        with pytest.raises(UnreachableError) as slow:
            client(hostile, timeout=5.0, deadline=1.0).list_tags("api")
        took = time.monotonic() - started
    assert took < 1.0 + 0.7  # not the 5 s read timeout, retried
    assert "within 1 s" in str(slow.value) or "within 1.0 s" in str(slow.value)
