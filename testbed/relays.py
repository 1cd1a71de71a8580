"""Hostile network in front of any server, on loopback: a relay that trickles its bytes, a redirector.

:class:`TrickleRelay` sits in front of any server and passes what the server sends one byte at a
time: in front of a TLS server it trickles the handshake itself. :class:`Redirector` answers every
request with a redirect, to another origin or to itself, and records what arrives there.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

from testbed.hostile import Seen
from testbed.serving import BackgroundServer, TcpListener, shut_down


class TrickleRelay(TcpListener):
    """``TrickleRelay(port, interval)``: a TCP relay on 127.0.0.1 that slows the server's bytes to one per interval;
    ``accepted`` counts the connections the client opened."""

    def __init__(self, target_port: int, interval: float) -> None:
        self.target_port = target_port
        self.interval = interval
        self.relayed = 0  # bytes passed from the server to the client
        super().__init__(name="trickle-relay")

    def connected(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=self._pump, args=(client, upstream, 0.0, False), daemon=True).start()
        threading.Thread(target=self._pump, args=(upstream, client, self.interval, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, interval: float, count: bool) -> None:
        try:
            while not self._stopped.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if interval <= 0:
                    sink.sendall(data)
                    self.relayed += len(data) if count else 0
                    continue
                for index in range(len(data)):
                    sink.sendall(data[index:index + 1])
                    self.relayed += 1 if count else 0
                    time.sleep(interval)
        except OSError:
            pass
        finally:
            shut_down(source, sink)


class Redirector:
    """Answers every request with ``status`` and ``Location: <target><path>``; ``caught`` is a second
    server (another origin: ``localhost`` for ``127.0.0.1``) that records what arrives there."""

    def __init__(self, status: int = 307, *, same_origin: bool = False) -> None:
        self.status = status
        self.caught: list[Seen] = []
        self.bodies: list[bytes] = []
        outer = self

        class Catch(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                outer.bodies.append(self.rfile.read(length) if length else b"")
                outer.caught.append(Seen(self.command, self.path, "http", self.headers.get("Authorization")))
                body = b'{"token": "caught", "apps": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = _any

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
                pass

        class Redirect(BaseHTTPRequestHandler):
            def _any(self) -> None:
                if self.path.startswith("/landed"):  # the same-origin redirect's destination
                    return Catch._any(self)  # type: ignore[arg-type]
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                target = f"/landed{self.path}" if same_origin else outer.catch.url.replace(
                    "127.0.0.1", "localhost") + self.path
                self.send_response(outer.status)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_PUT = do_POST = do_DELETE = _any

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
                pass

        self.catch = BackgroundServer(Catch, name="redirect-catch")
        self._redirect = BackgroundServer(Redirect, name="redirector")
        self.url = self._redirect.url

    def stop(self) -> None:
        self._redirect.stop()
        self.catch.stop()

    def __enter__(self) -> "Redirector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
