"""A Marathon that lies on purpose, in front of the simulator: the hostile bed's Marathon half.

``HostileMarathon(upstream)`` listens on 127.0.0.1 and passes every request to ``upstream`` (the
simulator), except what a test switches on:

- ``events``: a function giving the body of ``GET /v2/events`` as an endless (or finite)
  iterator of byte chunks (``data:`` lines with no value, blank lines, comments...);
- ``versions``: app id -> how many versions ``GET /v2/apps/<id>/versions`` lists (newest first,
  one a second back from the app's own), each ``/versions/<v>`` answered with the app's current
  definition stamped with that version.

``count(kind)`` says how many requests of a kind arrived (``events``, ``versions``, ``version``,
``other``); ``sent`` how many bytes of events went out.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Callable, Iterator
from urllib.parse import urlsplit

from testbed.serving import BackgroundServer

_VERSIONS = re.compile(r"^/v2/apps(?P<id>/.+?)/versions/?$")
_VERSION = re.compile(r"^/v2/apps(?P<id>/.+?)/versions/(?P<v>[^/]+)$")
_DROP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def version_at(newest: str, back: int) -> str:
    """A Marathon version string ``back`` seconds before ``newest``."""
    when = dt.datetime.strptime(newest[:19], "%Y-%m-%dT%H:%M:%S") - dt.timedelta(seconds=back)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class HostileMarathon:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.events: Callable[[], Iterator[bytes]] | None = None
        self.versions: dict[str, int] = {}
        self.sent = 0
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = BackgroundServer(_handler(self), name="hostile-marathon")

    @property
    def url(self) -> str:
        return self._server.url

    def count(self, kind: str) -> int:
        with self._lock:
            return self._counts.get(kind, 0)

    def _seen(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            return resp.status, {k: v for k, v in resp.getheaders() if k.lower() not in _DROP}, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> "HostileMarathon":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(front: HostileMarathon) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            pass

        def _any(self) -> None:
            path = urlsplit(self.path).path
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _DROP}
            if path.rstrip("/") == "/v2/events" and front.events is not None:
                front._seen("events")
                self._stream(front.events())
                return
            listed = _VERSIONS.match(path)
            one = _VERSION.match(path)
            if self.command == "GET" and listed and listed["id"] in front.versions:
                front._seen("versions")
                newest = self._app(listed["id"], headers)["version"]
                body_out = {"versions": [version_at(newest, n) for n in range(front.versions[listed["id"]])]}
                self._reply(200, {"Content-Type": "application/json"}, json.dumps(body_out).encode())
                return
            if self.command == "GET" and one and one["id"] in front.versions:
                front._seen("version")
                app = dict(self._app(one["id"], headers), version=one["v"])
                self._reply(200, {"Content-Type": "application/json"}, json.dumps(app).encode())
                return
            front._seen("other")
            self._reply(*front.forward(self.command, self.path, headers, body))

        def _app(self, app_id: str, headers: dict[str, str]) -> dict[str, object]:
            _, _, raw = front.forward("GET", f"/v2/apps{app_id}", headers, b"")
            app: dict[str, object] = json.loads(raw)["app"]
            return app

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, chunks: Iterator[bytes]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for chunk in chunks:
                    self.wfile.write(chunk)
                    with front._lock:
                        front.sent += len(chunk)
            except OSError:
                pass  # the client gave the stream up

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

    return Handler
