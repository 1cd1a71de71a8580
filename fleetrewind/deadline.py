"""The total deadline of a request: requests' timeout is per socket read, so a server trickling one
header byte a second never trips it. Each request registers a :class:`Watch`; one watchdog thread
shuts the socket of every request whose deadline has passed, and a connection asked to send for an
expired watch raises at once. :class:`Adapter` gives a session pools whose connections do this.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .headerparse import Response
from .socksdeadline import socks_pools as _socks_pools


class FenceClosed(Exception):
    """The request's fence said no just before sending (not an OSError: nothing may retry it)."""


class DeadlineExceeded(Exception):
    """Not an OSError on purpose: urllib3 retries those, and a request past its deadline must stop."""


class Watch:
    __slots__ = ("deadline", "expired", "conn", "pending", "fence")

    def __init__(self, deadline: float, fence: Callable[[], bool] | None = None) -> None:
        self.deadline = deadline
        # asked just before the request is written: a change goes out only while its lock is proved held
        self.fence = fence
        self.expired = False
        self.conn: HTTPConnection | None = None
        self.pending: socket.socket | None = None  # a SOCKS socket still in its proxy handshake

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expire(self) -> None:
        self.expired = True
        pending = self.pending
        if pending is not None:
            try:
                socket.socket.shutdown(pending, socket.SHUT_RDWR)  # ends a trickled SOCKS handshake
            except OSError:
                pass
        conn = self.conn
        # Only while the connection still works for this request (it goes back to the pool after).
        if conn is not None and getattr(conn, "_fleetrewind_watch", None) is self and conn.sock is not None:
            try:
                socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)  # wakes a recv blocked in another thread
            except OSError:
                pass


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[Watch] = set()
        self._wake_at = float("inf")
        self._thread: threading.Thread | None = None

    def add(self, watch: Watch) -> None:
        with self._cond:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="request-deadlines", daemon=True)
                self._thread.start()
            if watch.deadline < self._wake_at:
                self._cond.notify()

    def remove(self, watch: Watch) -> None:
        with self._cond:
            self._watches.discard(watch)
            watch.conn = None
            watch.pending = None

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._watches if w.deadline <= now]:
                    self._watches.discard(watch)
                    watch.expire()
                self._wake_at = min((w.deadline for w in self._watches), default=float("inf"))
                self._cond.wait(None if self._wake_at == float("inf") else max(0.0, self._wake_at - now))


WATCHDOG = Watchdog()
CURRENT = threading.local()


def attach(conn: HTTPConnection) -> None:
    watch: Watch | None = getattr(CURRENT, "watch", None)
    if watch is None:
        return
    if watch.expired or watch.remaining() <= 0:
        raise DeadlineExceeded()
    conn._fleetrewind_watch = watch  # type: ignore[attr-defined]
    watch.conn = conn
    check_fence(conn)


def check_fence(conn: HTTPConnection) -> None:
    """Before the connection is used and before each write of the request (its head, each piece of its body):
    a change whose lock can no longer be proved held stops even half-sent (a server drops a request cut short)."""
    watch: Watch | None = getattr(conn, "_fleetrewind_watch", None)
    if watch is not None and watch.fence is not None and not watch.fence():
        raise FenceClosed()


class _WatchedHTTPConnection(HTTPConnection):
    """Attaches the request's watch before connecting (for HTTPS, self.sock exists before the handshake:
    it and its retries end at the deadline) and before each request on a reused connection. Answers are
    read by :class:`headerparse.Response` (the headers without the ``email`` package)."""

    response_class = Response

    def connect(self) -> None:
        attach(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        attach(self)
        super().request(*args, **kwargs)

    def send(self, data: Any) -> None:
        check_fence(self)
        super().send(data)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The same watch; the MRO puts HTTPSConnection's connect (the handshake) under it."""


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}
_SOCKS_POOLS = _socks_pools(attach, check_fence, CURRENT)


class Adapter(HTTPAdapter):
    """requests' adapter with urllib3 pools whose connections honour the request's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        elif _SOCKS_POOLS:  # SOCKS brings pool classes of its own: watched ones replace them
            manager.pool_classes_by_scheme = _SOCKS_POOLS
        return manager
