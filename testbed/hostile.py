"""A hostile registry on loopback: a small Docker registry (HTTP API v2 subset) that lies on purpose.

Stdlib only, like the other test bed servers (``testbed.serving``). Each repository behaves as
its :class:`Behaviour` says (``server.behave("api", Behaviour(...))``); a repository without one
answers like an honest registry: one tag page, schema 2 manifests, config blobs with a date.

What a behaviour can do:

- ``link``: the first tag page carries ``Link: <link>; rel="next"``; ``{port}`` in it is replaced
  by the server's port (a downgrade to ``http://127.0.0.1:{port}``, another port, another host,
  a link with ``user:password@``).
- ``pages``: ``"endless"`` (every page has new tags and a new cursor, up to ``endless_limit``),
  ``"empty"`` (endless empty pages), ``"cycle"`` (cursor a -> b -> a), ``"same"`` (new cursors,
  the same tags every time).
- ``trickle``: seconds between two bytes of the status line and headers (tag list and manifests);
  ``slow_body``: seconds between two bytes of the body, after fast headers (tag list and
  manifests); ``slow_blob``: the same for config blobs.
- ``digest``: the ``Docker-Content-Digest`` to claim instead of the real one; ``blob``: bytes to
  send as every config blob instead of the real one; ``child_body``: bytes to send for a
  manifest fetched by digest instead of the child the manifest list names (``manifest_list``).
- ``tags_body``: the raw bytes of the tag list (odd JSON: ``{"tags": 5}``, a list, ...).
- ``retry_after``: answer 429 with this ``Retry-After`` (``"3600"``, ``"soon"``) ``retry_times`` times.
- ``challenge``: the ``WWW-Authenticate`` of a 401 for requests without an Authorization header.

With ``user``/``password`` every request needs Basic auth. With ``tls`` (a ``testbed.tls.TlsPaths``)
the server speaks TLS, and with ``dual=True`` it also answers plain HTTP on the same port (it
sniffs the first byte): a downgrade link to ``http://`` on the same host and port then reaches a
server that records whether a credential arrived in clear. ``requests`` lists every request
(method, path, scheme, Authorization header); ``aborted`` counts answers the client hung up on.

A relay that trickles any server's bytes and a redirector to another origin: ``testbed.relays``.
"""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from testbed.serving import BackgroundServer, QuietServer
from testbed.tls import TlsPaths

MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_CONFIG = "application/vnd.docker.container.image.v1+json"


@dataclass
class Behaviour:
    tags: list[str] = field(default_factory=lambda: ["1-master"])
    created: str = "2026-11-19T10:00:00Z"
    link: str | None = None
    pages: str | None = None
    endless_limit: int = 5000
    trickle: float = 0.0
    slow_body: float = 0.0
    slow_blob: float = 0.0
    digest: str | None = None
    blob: bytes | None = None
    manifest_list: bool = False
    child_body: bytes | None = None
    tags_body: bytes | None = None
    retry_after: str | None = None
    retry_times: int = 10**9
    challenge: str | None = None


class Seen(NamedTuple):
    method: str
    path: str
    scheme: str
    authorization: str | None


def config_blob(created: str) -> bytes:
    return json.dumps({"architecture": "amd64", "os": "linux", "created": created}).encode()


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest_for(config: bytes) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": MT_MANIFEST,
                       "config": {"mediaType": MT_CONFIG, "size": len(config), "digest": digest_of(config)},
                       "layers": []}).encode()


def manifest_list_for(child: bytes) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": MT_LIST, "manifests": [
        {"mediaType": MT_MANIFEST, "size": len(child), "digest": digest_of(child),
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()


class _DualServer(QuietServer):
    """TLS when the client starts with a TLS record (0x16), plain HTTP otherwise; one port for both."""

    ssl_context: ssl.SSLContext | None = None
    dual = False

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.ssl_context is None:
            return sock, addr
        sock.settimeout(5)
        try:
            first = sock.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        sock.settimeout(None)
        if first == b"\x16" or not self.dual:
            return self.ssl_context.wrap_socket(sock, server_side=True), addr
        return sock, addr


class HostileRegistry:
    """``with HostileRegistry() as server:`` ... ``server.url``; see the module docstring."""

    def __init__(self, *, tls: TlsPaths | None = None, dual: bool = False, user: str | None = None,
                 password: str | None = None) -> None:
        self.tls = tls
        self.dual = dual
        self.user = user
        self.password = password
        self.behaviours: dict[str, Behaviour] = {}
        self.requests: list[Seen] = []
        self.aborted = 0
        self.lock = threading.Lock()
        self._served: dict[str, int] = {}
        self._background: BackgroundServer | None = None

    def behave(self, repo: str, behaviour: Behaviour) -> None:
        with self.lock:
            self.behaviours[repo] = behaviour

    def start(self) -> "HostileRegistry":
        self._background = BackgroundServer(_make_handler(self), name="hostile-registry", server_class=_DualServer)
        server = self._background.server
        assert isinstance(server, _DualServer)
        if self.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.tls.cert, self.tls.key)
            server.ssl_context = context
            server.dual = self.dual
        return self

    def stop(self) -> None:
        if self._background:
            self._background.stop()

    def __enter__(self) -> "HostileRegistry":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._background is not None
        return self._background.port

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def seen(self, *, scheme: str | None = None) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if scheme is None or r.scheme == scheme]

    def behaviour(self, repo: str) -> Behaviour:
        with self.lock:
            return self.behaviours.get(repo) or Behaviour()

    def count(self, key: str) -> int:
        with self.lock:
            self._served[key] = self._served.get(key, 0) + 1
            return self._served[key]


def _make_handler(server: HostileRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
            auth = self.headers.get("Authorization")
            with server.lock:
                server.requests.append(Seen("GET", self.path, scheme, auth))
            parts = urlsplit(self.path)
            path = parts.path
            if path == "/v2/" or path == "/v2":
                return self._send(200, b"{}")
            repo, kind, ref = _route(path)
            if repo is None:
                return self._send(404, b'{"errors": [{"code": "NOT_FOUND"}]}')
            behaviour = server.behaviour(repo)
            if not self._authorized(auth, behaviour):
                return
            if behaviour.retry_after is not None and server.count(f"429:{repo}") <= behaviour.retry_times:
                return self._send(429, b'{"errors": [{"code": "TOOMANYREQUESTS"}]}',
                                  {"Retry-After": behaviour.retry_after})
            if kind == "tags":
                return self._tags(repo, behaviour, parse_qs(parts.query))
            if kind == "manifests":
                return self._manifest(repo, behaviour, ref)
            return self._blob(behaviour, ref)

        def _authorized(self, auth: str | None, behaviour: Behaviour) -> bool:
            if behaviour.challenge and not auth:
                self._send(401, b'{"errors": [{"code": "UNAUTHORIZED"}]}', {"WWW-Authenticate": behaviour.challenge})
                return False
            if server.user is None:
                return True
            import base64

            wanted = "Basic " + base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
            if auth != wanted:
                self._send(401, b'{"errors": [{"code": "UNAUTHORIZED"}]}',
                           {"WWW-Authenticate": 'Basic realm="hostile"'})
                return False
            return True

        def _tags(self, repo: str, behaviour: Behaviour, query: dict[str, list[str]]) -> None:
            if behaviour.tags_body is not None:
                return self._send(200, behaviour.tags_body, trickle=behaviour.trickle, slow_body=behaviour.slow_body)
            cursor = (query.get("last") or [""])[0]
            headers: dict[str, str] = {}
            tags = list(behaviour.tags)
            base = f"/v2/{repo}/tags/list"
            if behaviour.link and not cursor:
                headers["Link"] = f'<{behaviour.link.replace("{port}", str(server.port))}>; rel="next"'
            elif behaviour.pages in ("endless", "empty"):
                number = int(cursor or "0") + 1
                tags = [f"{number}-master"] if behaviour.pages == "endless" else []
                if number < behaviour.endless_limit:
                    headers["Link"] = f'<{base}?n=1&last={number}>; rel="next"'
            elif behaviour.pages == "cycle":
                following = {"": "a", "a": "b", "b": "a"}[cursor or ""]
                tags = [f"{len(cursor)}-{cursor or 'start'}"]
                headers["Link"] = f'<{base}?n=1&last={following}>; rel="next"'
            elif behaviour.pages == "same":
                number = int(cursor or "0") + 1
                headers["Link"] = f'<{base}?n=1&last={number}>; rel="next"'
            body = json.dumps({"name": repo, "tags": tags}).encode()
            self._send(200, body, headers, trickle=behaviour.trickle, slow_body=behaviour.slow_body)

        def _manifest(self, repo: str, behaviour: Behaviour, ref: str) -> None:
            config = config_blob(behaviour.created)
            child = manifest_for(config)
            if ref.startswith("sha256:") and behaviour.child_body is not None:
                body, media_type = behaviour.child_body, MT_MANIFEST
            elif ref.startswith("sha256:") or not behaviour.manifest_list:
                body, media_type = child, MT_MANIFEST
            else:
                body, media_type = manifest_list_for(child), MT_LIST  # names the honest child
            headers = {"Content-Type": media_type, "Docker-Content-Digest": behaviour.digest or digest_of(body)}
            self._send(200, body, headers, trickle=behaviour.trickle, slow_body=behaviour.slow_body)

        def _blob(self, behaviour: Behaviour, ref: str) -> None:
            body = behaviour.blob if behaviour.blob is not None else config_blob(behaviour.created)
            self._send(200, body, {"Content-Type": "application/octet-stream"}, slow_body=behaviour.slow_blob)

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, *,
                  trickle: float = 0.0, slow_body: float = 0.0) -> None:
            lines = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}",
                     "Content-Type: application/json", f"Content-Length: {len(body)}"]
            lines += [f"{k}: {v}" for k, v in (headers or {}).items() if k != "Content-Type"]
            if headers and "Content-Type" in headers:
                lines[1] = f"Content-Type: {headers['Content-Type']}"
            head = ("\r\n".join(lines) + "\r\n\r\n").encode()
            try:
                if trickle <= 0 and slow_body <= 0:
                    self._write(head + body, 0.0)  # one write: two would wait on the client's delayed ACK
                    return
                self._write(head, trickle)
                self._write(body, slow_body)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                with server.lock:
                    server.aborted += 1
                self.close_connection = True

        def _write(self, data: bytes, interval: float) -> None:
            if interval <= 0:
                self.wfile.write(data)
                self.wfile.flush()
                return
            for index in range(len(data)):
                self.wfile.write(data[index:index + 1])
                self.wfile.flush()
                time.sleep(interval)

    return Handler


def _route(path: str) -> tuple[str | None, str, str]:
    """/v2/<repo>/(tags/list | manifests/<ref> | blobs/<digest>) -> (repo, kind, ref)."""
    if not path.startswith("/v2/"):
        return None, "", ""
    rest = path[len("/v2/"):]
    if rest.endswith("/tags/list"):
        return rest[: -len("/tags/list")], "tags", ""
    for kind in ("manifests", "blobs"):
        repo, sep, ref = rest.rpartition(f"/{kind}/")
        if sep and repo:
            return repo, kind, ref
    return None, "", ""
