"""A loopback HTTP server served from a daemon thread: the life cycle the test bed's servers share."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
