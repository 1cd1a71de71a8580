"""A loopback HTTP server served from a daemon thread: the life cycle the test bed's servers share."""

from __future__ import annotations

import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar, Self


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # clients open many connections at once (16 workers, 50 deployments)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that hang up (timeouts, a killed proxy) are part of the tests, not errors to print.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class BackgroundServer:
    """Listen on 127.0.0.1 (a free port, or a given one) and serve until :meth:`stop`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, name: str, port: int = 0,
                 server_class: type[QuietServer] = QuietServer) -> None:
        self._server = server_class(("127.0.0.1", port), handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=name, daemon=True)
        self._thread.start()

    @property
    def server(self) -> QuietServer:
        return self._server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Served:
    """A test server's life cycle: ``start`` listens on a free port (again: nothing), ``stop``, a ``with``
    block, and its ``url`` once started. A subclass names its thread and gives its request handler."""

    thread_name: ClassVar[str]
    _server: BackgroundServer | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        if self._server is None:
            self._server = BackgroundServer(self.handler(), name=self.thread_name)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started; call start() first")
        return self._server.url


def shut_down(*socks: socket.socket) -> None:
    """End a relayed connection both ways (the other side may be gone already)."""
    for sock in socks:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class TcpListener:
    """A TCP listener on 127.0.0.1 (a free port) whose accept thread hands each client to ``connected``;
    ``accepted`` counts them. A subclass sets what ``connected`` needs before calling ``__init__``."""

    def __init__(self, *, name: str) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self.accepted = 0
        threading.Thread(target=self._accept, name=name, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            self.connected(client)

    def connected(self, client: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
