"""A reverse proxy on 127.0.0.1 in front of a registry, with behaviours tests switch on and off.

- ``paginate_tags=n``: answer ``/v2/<repo>/tags/list`` in sorted pages of n with a
  ``Link: <...?n=..&last=..>; rel="next"`` header (``link_style`` "relative" or "absolute"),
  as Harbor, GHCR, Docker Hub and distribution 3 do (2.8.2 ignores n/last).
- ``latency``: seconds slept before each request is handled.
- ``fault_rate``: that fraction of requests answered with a status from ``fault_statuses``,
  drawn from ``random.Random(seed)``; 429s carry ``Retry-After: 0``.  ``fail_next(k)`` fails
  exactly the next k requests.
- ``dead = True`` closes every connection without an answer; ``kill()`` also stops listening
  (connection refused); ``die_after=n`` goes dead after n requests (the registry dying mid-run).
- ``rewrite(path)``: return (status, headers, body) to answer instead of the upstream, or None.
- ``counts``: requests received by kind (tags, manifests, blobs, other) and total.

Its canned answers (``canned``, ``registry_error``) and the request kinds: ``testbed.canned``.

Attributes may be changed while the proxy runs; all shared state is guarded by a lock.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Callable, Iterable, Mapping, Optional
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from testbed.canned import KINDS, TAGS, Canned, classify, registry_error
from testbed.serving import BackgroundServer

Rewrite = Callable[[str], Optional[Canned]]
ResponseHook = Callable[[str, int, dict[str, str], bytes], Canned]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
class RegistryProxy:
    """Threaded HTTP reverse proxy to ``upstream`` (``upstream_verify``: CA path for https)."""

    def __init__(
        self,
        upstream: str,
        *,
        paginate_tags: int | None = None,
        link_style: str = "relative",
        latency: float = 0.0,
        fault_rate: float = 0.0,
        fault_statuses: Iterable[int] = (500, 503, 429),
        fault_kinds: Iterable[str] | None = None,
        seed: int = 0,
        dead: bool = False,
        die_after: int | None = None,
        rewrite: Rewrite | None = None,
        response_hook: ResponseHook | None = None,
        upstream_verify: str | bool = True,
        timeout: float = 30.0,
    ) -> None:
        if link_style not in ("relative", "absolute"):
            raise ValueError(f"link_style must be 'relative' or 'absolute' (found: {link_style!r})")
        parts = urlsplit(upstream.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream must be an http(s) URL (found: {upstream!r})")
        self.upstream = f"{parts.scheme}://{parts.netloc}"
        self._upstream_parts = parts
        self.paginate_tags = paginate_tags
        self.link_style = link_style
        self.latency = latency
        self.fault_rate = fault_rate
        self.fault_statuses = tuple(fault_statuses)
        self.fault_kinds = set(fault_kinds) if fault_kinds is not None else None
        self.dead = dead
        self.die_after = die_after
        self.rewrite = rewrite
        self.response_hook = response_hook
        self.upstream_verify = upstream_verify
        self.timeout = timeout
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._fail_next: list[int] = []
        self.counts: dict[str, int] = {}
        #: (method, path, status) of every request; status 0 when the connection was dropped.
        self.log: list[tuple[str, str, int]] = []
        self.faults_injected = 0
        self.reset_counts()
        self._server: BackgroundServer | None = None
        self._port: int | None = None
        self._ssl_context: ssl.SSLContext | None = None
        if parts.scheme == "https":
            if isinstance(upstream_verify, str):
                self._ssl_context = ssl.create_default_context(cafile=upstream_verify)
            elif upstream_verify:
                self._ssl_context = ssl.create_default_context()
            else:
                self._ssl_context = ssl._create_unverified_context()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "RegistryProxy":
        """Listen on 127.0.0.1 (a free port, or the previous one after kill()); idempotent."""
        if self._server is None:
            self._server = BackgroundServer(_make_handler(self), name="registry-proxy", port=self._port or 0)
            self._port = self._server.port
        return self

    def kill(self) -> None:
        """Simulate the registry dying: drop open connections and refuse new ones."""
        self.dead = True
        self._close_listener()

    def revive(self) -> "RegistryProxy":
        """Undo kill()/dead: listen again on the same port and forward requests."""
        with self._lock:
            self.dead = False
            self.die_after = None
        return self.start()

    def _close_listener(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def stop(self) -> None:
        """Stop listening; handler threads finish on their own (they are daemons)."""
        self.dead = True
        self._close_listener()

    def __enter__(self) -> "RegistryProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("RegistryProxy is not started; call start() first")
        return f"http://127.0.0.1:{self._port}"

    # -- counters and faults ---------------------------------------------------------------

    def reset_counts(self) -> None:
        """Zero the counters and the request log."""
        with self._lock:
            self.counts = {kind: 0 for kind in KINDS}
            self.counts["total"] = 0
            self.log = []
            self.faults_injected = 0

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer exactly the next ``count`` requests with ``status``."""
        with self._lock:
            self._fail_next.extend([status] * count)

    def _admit(self, method: str, path: str) -> tuple[bool, int | None]:
        """Count a request; return (drop the connection, fault status or None)."""
        kind = classify(path)
        with self._lock:
            self.counts[kind] += 1
            self.counts["total"] += 1
            if self.die_after is not None and self.counts["total"] > self.die_after:
                self.dead = True
            if self.dead:
                return True, None
            if self._fail_next:
                self.faults_injected += 1
                return False, self._fail_next.pop(0)
            if self.fault_rate > 0 and (self.fault_kinds is None or kind in self.fault_kinds):
                if self._rng.random() < self.fault_rate:
                    self.faults_injected += 1
                    return False, self._rng.choice(self.fault_statuses)
        return False, None

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.log.append((method, path, status))

    # -- upstream --------------------------------------------------------------------------

    def _connect(self) -> http.client.HTTPConnection:
        host = self._upstream_parts.hostname or "127.0.0.1"
        port = self._upstream_parts.port
        if self._ssl_context is not None:
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._ssl_context)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def rewrite_location(self, value: str) -> str:
        """Point upstream URLs in Location/Link headers at the proxy."""
        return value.replace(self.upstream, self.url)


def _make_handler(proxy: RegistryProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One buffered write per response and no Nagle: avoids 40 ms delayed-ACK stalls.
        wbufsize = -1
        disable_nagle_algorithm = True
        _upstream: http.client.HTTPConnection | None = None

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            pass

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                if self._upstream is not None:
                    self._upstream.close()

        # -- plumbing ----------------------------------------------------------------------

        def _read_body(self) -> bytes | None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            length = self.headers.get("Content-Length")
            return self.rfile.read(int(length)) if length else None

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _answer(
            self, status: int, headers: Mapping[str, str], body: bytes, *, head_length: str | None = None
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            if self.command == "HEAD":
                self.send_header("Content-Length", head_length if head_length is not None else str(len(body)))
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)
            proxy._record(self.command, self.path, status)

        def _forward(self, method: str, path: str, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body is not None:
                headers["Content-Length"] = str(len(body))
            for attempt in (1, 2):
                if self._upstream is None:
                    self._upstream = proxy._connect()
                try:
                    self._upstream.request(method, path, body=body, headers=headers)
                    response = self._upstream.getresponse()
                    data = response.read()
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    # A kept-alive upstream connection the registry closed; retry once on a new one.
                    self._upstream.close()
                    self._upstream = None
                    if attempt == 2:
                        raise
            result: dict[str, str] = {}
            for name, value in response.getheaders():
                if name.lower() in ("location", "link"):
                    value = proxy.rewrite_location(value)
                if name in result:
                    result[name] += ", " + value
                else:
                    result[name] = value
            return response.status, result, data

        def _paginate(self, name: str) -> None:
            parts = urlsplit(self.path)
            status, headers, data = self._forward("GET", parts.path, None)
            if status != 200:
                self._answer(status, headers, data)
                return
            document = json.loads(data)
            tags = sorted(document.get("tags") or [])
            query = parse_qs(parts.query)
            size = proxy.paginate_tags or len(tags)
            if "n" in query:
                try:
                    size = min(size, max(int(query["n"][0]), 1))
                except ValueError:
                    self._answer(
                        *registry_error(
                            400, "PAGINATION_NUMBER_INVALID", "invalid number of results requested"
                        )
                    )
                    return
            last = query.get("last", [None])[0]
            if last is not None:
                tags = [t for t in tags if t > last]
            page, rest = tags[:size], tags[size:]
            body = json.dumps({"name": document.get("name", name), "tags": page}).encode()
            headers = {
                k: v for k, v in headers.items() if k.lower() not in ("link", "docker-content-digest", "etag")
            }
            if rest and page:
                link = f"/v2/{name}/tags/list?" + urlencode({"n": size, "last": page[-1]}, quote_via=quote)
                if proxy.link_style == "absolute":
                    link = proxy.url + link
                headers["Link"] = f'<{link}>; rel="next"'
            self._answer(200, headers, body)

        # -- dispatch ----------------------------------------------------------------------

        def _handle(self) -> None:
            body = self._read_body()
            drop, fault = proxy._admit(self.command, self.path)
            if proxy.latency > 0:
                time.sleep(proxy.latency)
            if drop or proxy.dead:
                proxy._record(self.command, self.path, 0)
                self._drop()
                return
            if fault is not None:
                extra = {"Retry-After": "0"} if fault == 429 else {}
                code = "TOOMANYREQUESTS" if fault == 429 else "UNAVAILABLE"
                status, headers, data = registry_error(fault, code, "fault injected by testbed proxy")
                self._answer(status, {**headers, **extra}, data)
                return
            if proxy.rewrite is not None:
                replaced = proxy.rewrite(self.path)
                if replaced is not None:
                    self._answer(*replaced)
                    return
            tags = TAGS.match(urlsplit(self.path).path)
            if tags and self.command == "GET" and proxy.paginate_tags:
                self._paginate(tags.group("name"))
                return
            try:
                status, headers, data = self._forward(self.command, self.path, body)
            except (OSError, http.client.HTTPException) as exc:
                self._answer(*registry_error(502, "UNAVAILABLE", f"testbed proxy: upstream failed: {exc}"))
                return
            if proxy.response_hook is not None:
                status, hooked, data = proxy.response_hook(self.path, status, headers, data)
                headers = dict(hooked)
            self._answer(status, headers, data, head_length=headers.get("Content-Length"))

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler
