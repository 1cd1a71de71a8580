"""SOCKS proxies under the request deadline (docs/reliability.md, "A hostile server").

urllib3's SOCKS pools (``urllib3.contrib.socks``, with PySocks) bring connection classes of
their own, and their proxy handshake runs before the connection has a socket the deadline's
watchdog could shut. The classes here register with the request's watch like the transport's
other connections, and PySocks' sockets register as "pending" the moment they exist, so the
watchdog ends a trickled handshake at the deadline. Without PySocks there are no SOCKS pools
(requests then refuses a ``socks://`` proxy itself).
"""

from __future__ import annotations

import socket
import threading
from typing import Callable

from urllib3.connection import HTTPConnection

PoolClasses = dict[str, type]
Attach = Callable[[HTTPConnection], None]


def _attached(method: Callable[..., None], attach: Attach) -> Callable[..., None]:
    """``method`` (connect, request), registering the connection with the request's watch first."""
    def watched(self: HTTPConnection, *args: object, **kwargs: object) -> None:
        attach(self)
        method(self, *args, **kwargs)
    return watched


def _fenced(method: Callable[..., None], check: Attach) -> Callable[..., None]:
    """``send``, asking the request's fence before each write."""
    def fenced(self: HTTPConnection, data: object) -> None:
        check(self)
        method(self, data)
    return fenced


def socks_pools(attach: Attach, check: Attach, current: threading.local) -> PoolClasses:
    """``{"http": pool, "https": pool}`` whose connections honour the deadline; ``{}`` without PySocks."""
    try:
        import socks  # type: ignore[import-untyped]
        from urllib3.contrib import socks as contrib
    except ImportError:
        return {}

    if not getattr(socks.socksocket.connect, "_fleetrewind", False):
        handshake = socks.socksocket.connect

        def connect(self: socket.socket, *args: object, **kwargs: object) -> object:
            watch = getattr(current, "watch", None)
            if watch is not None:  # the watchdog may shut it while the proxy handshake runs
                watch.pending = self
            return handshake(self, *args, **kwargs)

        setattr(connect, "_fleetrewind", True)
        socks.socksocket.connect = connect  # create_connection connects every SOCKS socket through it

    from .headerparse import Response

    class _Conn(contrib.SOCKSConnection):
        response_class = Response
        connect = _attached(contrib.SOCKSConnection.connect, attach)
        request = _attached(contrib.SOCKSConnection.request, attach)
        send = _fenced(contrib.SOCKSConnection.send, check)

    class _TLSConn(contrib.SOCKSHTTPSConnection):
        response_class = Response
        connect = _attached(contrib.SOCKSHTTPSConnection.connect, attach)
        request = _attached(contrib.SOCKSHTTPSConnection.request, attach)
        send = _fenced(contrib.SOCKSHTTPSConnection.send, check)

    class _Pool(contrib.SOCKSHTTPConnectionPool):
        ConnectionCls = _Conn

    class _TLSPool(contrib.SOCKSHTTPSConnectionPool):
        ConnectionCls = _TLSConn

    return {"http": _Pool, "https": _TLSPool}
