"""A registry's tag pages, manifests and config blobs read over kept-alive sockets, one per worker thread.

A cold ``get`` reads two small answers per image, 10,050 for the bench's 50 services. Through
``requests``, ``urllib3`` and ``http.client`` each costs about a millisecond of CPU on a small machine,
nine tenths of the tool's CPU (docs/performance.md, "Direct reads"). A GET of a small answer on the
registry's own origin, without a proxy, needs little of that: these reads send the request line
themselves and read the answer with a small HTTP/1.1 reader (status line, plain header fields, a body
of known length, chunked, or up to the close), over TLS verified as the transport's own when the URL is
https.

They answer only what ``requests`` would have handed back unchanged: a final status, not one it
retries (429, 5xx, a 413 with ``Retry-After``); a redirect is checked by the transport's redirect rule
and its target read through the transport. Anything unusual (a folded header line, a content coding, a
header value it would not send) and any failure of the socket goes to :meth:`Transport.request`, which
sends the read again with its retries, rules and messages, so no outcome is decided here that the full
path would decide otherwise. A connection failure also turns the direct reads off for the rest of the
command. Only two errors are raised here, as the transport raises them: the request's total deadline
and the answer's size bound (sending again would wait or download it twice).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from .http_answers import HTTPAnswer
from .httprules import DEFAULT_PORTS, MAX_ANSWER, RETRY_STATUSES, USER_AGENT, origin, redirect_problem
from .transport import Transport

if TYPE_CHECKING:
    import ssl  # loaded at the first https connection

REDIRECTS = (301, 302, 303, 307, 308)  # the statuses requests follows when a Location comes with them
MAX_HEADER_BLOCK = 65536  # bytes before the blank line (http.client's limit of one line, for all of them)
MAX_FIELDS = 100  # http.client's limit of header fields
# a path and query requests would send as they are (nothing to quote; no fragment)
_SAFE_TARGET = re.compile(r"/(?:[A-Za-z0-9._~/:@!$&'()*+,;=?-]|%[0-9A-Fa-f]{2})*")
_SAFE_VALUE = re.compile(r"(?:[!-~][\t\x20-\x7e]*)?")  # a value requests sends: ASCII, no CR/LF/NUL, no leading space
_FIELD = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")  # a token, ':', a one-line value


class _Unusual(Exception):
    """This answer (or request) is the full transport's to handle; the connection is not reused."""


class _Broken(_Unusual):
    """The connection failed: the full transport sends the read again, and takes the reads after it."""


class Headers(dict[str, str]):
    """An answer's header fields by lower-case name; repeated fields joined with ", " (as urllib3 joins them)."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())


@dataclass(frozen=True, slots=True)
class Answer:
    """What the registry client reads of an answer: the same names as ``requests.Response``'s."""

    status_code: int
    headers: Headers
    content: bytes
    url: str


class _Connection:
    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class DirectReads:
    """GETs of small answers on ``transport``'s origin, each worker thread on its own kept-alive socket."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        parts = urllib.parse.urlsplit(transport.base_url)
        self._scheme = parts.scheme.lower()
        self._host = parts.hostname or ""
        self._port = parts.port or DEFAULT_PORTS.get(self._scheme, 80)
        self._host_field = parts.netloc
        self._prefix = parts.path
        # a URL with user:password has requests send Basic auth from it, a host name beyond ASCII its IDNA
        # form: those reads take the full path
        usable = self._scheme in ("http", "https") and "@" not in parts.netloc and parts.netloc.isascii()
        self.off: bool | None = None if usable else True
        self._local = threading.local()
        self._open: set[_Connection] = set()
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def read(self, path: str, *, headers: Mapping[str, str]) -> HTTPAnswer:
        """The answer to ``GET path``, as :meth:`Transport.request` would return it."""
        transport = self.transport
        if self.off is None:  # decided at the first read: a bad proxy variable is reported where requests reports it
            self.off = bool(transport.proxies.for_url(transport.base_url))
        url = transport.url(path)
        target = self._target(url) if path.startswith(("http://", "https://")) else self._prefix + path
        if (self.off or target is None or not _SAFE_TARGET.fullmatch(target)
                or not all(map(_SAFE_VALUE.fullmatch, headers.values()))):
            return transport.read(path, headers=headers)
        if "Authorization" in headers:
            transport.check_credentials_target(url)
        try:
            answer = self._exchange(url, target, headers)
        except _Broken:
            self.off = True
            return transport.read(path, headers=headers)
        except _Unusual:
            return transport.read(path, headers=headers)
        status = answer.status_code
        if status in RETRY_STATUSES or (status == 413 and "Retry-After" in answer.headers):
            return transport.read(path, headers=headers)  # retried there, after its backoff
        location = answer.headers.get("Location")
        if status in REDIRECTS and location:
            return self._follow(url, location, headers)
        return answer

    def _target(self, url: str) -> str | None:
        """A whole URL's request target when it is on the registry's own origin (a next page), else None."""
        try:
            same = origin(url) == origin(self.transport.base_url)
        except ValueError:
            return None
        parts = urllib.parse.urlsplit(url)
        if not same or "@" in parts.netloc or parts.fragment:
            return None
        return parts.path + ("?" + parts.query if parts.query else "")

    def _follow(self, url: str, location: str, headers: Mapping[str, str]) -> HTTPAnswer:
        """A redirect under the transport's rule; credentials only to the registry's own origin (requests' rule)."""
        target = urllib.parse.urljoin(url, location)
        why = redirect_problem("GET", False, url, target,
                               reads_elsewhere=self.transport.reads_elsewhere)
        if why:
            raise self.transport.redirect_refused("GET", url, why)
        sent = dict(headers)
        if origin(target) != origin(url):
            sent.pop("Authorization", None)
        return self.transport.request("GET", target, headers=sent)

    # -- one exchange ----------------------------------------------------------------------------
    def _exchange(self, url: str, target: str, headers: Mapping[str, str]) -> Answer:
        deadline = time.monotonic() + self.transport.deadline
        lines = [f"GET {target} HTTP/1.1", f"Host: {self._host_field}", f"User-Agent: {USER_AGENT}",
                 "Accept-Encoding: identity"]
        if "Accept" not in headers:
            lines.append("Accept: */*")
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
        conn = getattr(self._local, "conn", None) or self._connect(url, deadline)
        return self._answer(conn, request, url, deadline)

    def _connect(self, url: str, deadline: float) -> _Connection:
        try:
            sock = socket.create_connection((self._host, self._port), timeout=self._wait(url, deadline))
        except OSError:
            raise _Broken() from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._scheme == "https":
                sock = self._context().wrap_socket(sock, server_hostname=self._host)
        except (OSError, ValueError):
            sock.close()
            raise _Broken() from None
        conn = _Connection(sock)
        self._local.conn = conn
        with self._lock:
            self._open.add(conn)
        return conn

    def _context(self) -> ssl.SSLContext:
        """TLS as the transport's session has it: verified against the CA bundle (certifi's, as requests' by
        default), the host name checked, TLS 1.2 at least; with --insecure, neither checked."""
        if self._tls is None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_alpn_protocols(["http/1.1"])
            verify = self.transport.tls.verify
            if verify is False:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            else:
                import certifi

                bundle = certifi.where() if verify is True else str(verify)
                if os.path.isdir(bundle):
                    context.load_verify_locations(capath=bundle)
                else:
                    context.load_verify_locations(cafile=bundle)
            self._tls = context
        return self._tls

    def _wait(self, url: str, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self.transport.too_slow("GET", url, self.transport.deadline)
        return min(self.transport.timeout, remaining)

    def _receive(self, conn: _Connection, deadline: float, url: str) -> bytes:
        conn.sock.settimeout(self._wait(url, deadline))
        try:
            data = conn.sock.recv(65536)
        except socket.timeout:
            if time.monotonic() >= deadline:
                raise self.transport.too_slow("GET", url, self.transport.deadline) from None
            raise _Unusual() from None  # a read timeout: the full transport retries it
        except OSError:
            raise _Broken() from None
        return data

    def _answer(self, conn: _Connection, request: bytes, url: str, deadline: float) -> Answer:
        try:
            try:
                conn.sock.settimeout(self._wait(url, deadline))
                conn.sock.sendall(request)
            except OSError:
                raise _Broken() from None
            answer, keep = self._read(conn, url, deadline)
        except BaseException:
            self._drop(conn)
            raise
        if not keep:
            self._drop(conn)
        return answer

    def _read(self, conn: _Connection, url: str, deadline: float) -> tuple[Answer, bool]:
        data = b""  # (a connection is reused only when its last answer ended where it should)
        while (end := data.find(b"\r\n\r\n")) < 0:
            if len(data) > MAX_HEADER_BLOCK:
                raise _Unusual()
            chunk = self._receive(conn, deadline, url)
            if not chunk:
                raise _Broken()  # closed before a whole header block (a kept-alive one the server dropped)
            data += chunk
        status, version, headers = _head(data[:end])
        body = data[end + 4:]
        keep = version == "HTTP/1.1" and "close" not in (headers.get("connection") or "").lower()
        if (headers.get("content-encoding") or "identity").lower() != "identity":
            raise _Unusual()
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.lower() != "chunked" or "content-length" in headers:
                raise _Unusual()
            content, rest = self._chunked(conn, body, url, deadline)
        elif status in (204, 304):
            content, rest = b"", body
        elif "content-length" in headers:
            length = _length(headers["content-length"])
            if length > MAX_ANSWER:
                raise self.transport.too_large("GET", url)
            while len(body) < length:
                chunk = self._receive(conn, deadline, url)
                if not chunk:
                    raise _Unusual()  # ended before its length: the full path says so (IncompleteRead)
                body += chunk
            content, rest = body[:length], body[length:]
        else:  # no length: the body ends with the connection
            keep = False
            while chunk := self._receive(conn, deadline, url):
                body += chunk
                if len(body) > MAX_ANSWER:
                    raise self.transport.too_large("GET", url)
            content, rest = body, b""
        if rest:
            keep = False  # bytes nobody asked for: this connection's answers can no longer be trusted
        return Answer(status_code=status, headers=headers, content=content, url=url), keep

    def _chunked(self, conn: _Connection, data: bytes, url: str, deadline: float) -> tuple[bytes, bytes]:
        """A chunked body (RFC 9112, 7.1): sizes in hex, chunk extensions ignored, trailer fields read past."""
        parts: list[bytes] = []
        total = 0
        while True:
            while (end := data.find(b"\r\n")) < 0:
                data += self._more(conn, deadline, url, len(data))
            try:
                size = int(data[:end].split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _Unusual() from None
            if size < 0:
                raise _Unusual()
            total += size
            if total > MAX_ANSWER:
                raise self.transport.too_large("GET", url)
            data = data[end + 2:]
            if size == 0:
                while (end := data.find(b"\r\n")) != 0:  # trailer fields, then the empty line
                    if end > 0:
                        data = data[end + 2:]
                    else:
                        data += self._more(conn, deadline, url, len(data))
                return b"".join(parts), data[2:]
            while len(data) < size + 2:
                data += self._more(conn, deadline, url, len(data))
            if data[size:size + 2] != b"\r\n":
                raise _Unusual()
            parts.append(data[:size])
            data = data[size + 2:]

    def _more(self, conn: _Connection, deadline: float, url: str, held: int) -> bytes:
        if held > MAX_HEADER_BLOCK:
            raise _Unusual()
        chunk = self._receive(conn, deadline, url)
        if not chunk:
            raise _Unusual()
        return chunk

    def _drop(self, conn: _Connection) -> None:
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        with self._lock:
            self._open.discard(conn)
        conn.close()

    def close(self) -> None:
        """Close every thread's connection (the command is done with the registry)."""
        with self._lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()


def _head(block: bytes) -> tuple[int, str, Headers]:
    """The status, the version and the fields of a header block; anything but plain lines is _Unusual."""
    lines = block.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or not code.isdigit() or rest[3:4] not in (b"", b" "):
        raise _Unusual()
    status = int(code)
    if status < 200 or len(lines) > MAX_FIELDS + 1:
        raise _Unusual()  # 1xx interim answers, too many fields
    headers = Headers()
    for line in lines[1:]:
        field = _FIELD.fullmatch(line)
        if field is None or b"\r" in line or b"\n" in line or b"\0" in line:
            raise _Unusual()  # folded, nameless, bare CR: http.client's own parse decides
        name, value = field.group(1).decode("ascii").lower(), field.group(2).decode("latin-1")
        known = dict.get(headers, name)
        dict.__setitem__(headers, name, value if known is None else f"{known}, {value}")
    return status, version.decode("ascii"), headers


def _length(value: str) -> int:
    """Content-Length: digits, or the same digits repeated (a list of one value, RFC 9110 8.6)."""
    values = {part.strip() for part in value.split(",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise _Unusual()
    return int(values.pop())
