"""The unit tier: no test here starts a server (tests/conftest.py refuses one at collection) or opens
a socket (a connect or bind fails the test)."""

from __future__ import annotations

import socket
from typing import Iterator

import pytest

from fleetrewind.secret import REGISTRY


class SocketInUnitTest(AssertionError):
    """A unit test opened a socket: it belongs in tests/integration."""


@pytest.fixture(autouse=True)
def no_sockets_in_the_unit_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: socket.socket, *args: object) -> None:
        raise SocketInUnitTest(f"{request.node.nodeid} opened a socket ({args!r}); it is not a unit test")

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse)


@pytest.fixture
def fresh_secrets() -> Iterator[None]:
    """The process-wide secret registry, empty before and after the test (main() resets it per command)."""
    REGISTRY.reset()
    yield
    REGISTRY.reset()
