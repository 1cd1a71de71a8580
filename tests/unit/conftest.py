"""The unit tier: no test here opens a socket (a connect or bind fails it) or starts a server."""

from __future__ import annotations

import socket

import pytest


class SocketInUnitTest(AssertionError):
    """A unit test opened a socket: it belongs in tests/integration."""


@pytest.fixture(autouse=True)
def no_sockets_in_the_unit_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket connect or bind fails the test, so the tier stays socket-free."""
    if not request.node.get_closest_marker("unit"):
        return  # uses a server: to be moved to tests/integration

    def refuse(self: socket.socket, *args: object) -> None:
        raise SocketInUnitTest(f"{request.node.nodeid} opened a socket ({args!r}); it is not a unit test")

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse)
