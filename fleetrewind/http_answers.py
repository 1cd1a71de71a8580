"""What a request's answer or failure says, bounded and without a URL: the answer's size bound, the
request's path, and the short cause of a failure (a URL may carry credentials; a nested repr says nothing).
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Mapping, Protocol

if TYPE_CHECKING:
    import requests


class HTTPAnswer(Protocol):
    """What the clients read of an answer: ``requests.Response`` and ``directread.Answer`` both have it."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...

    @property
    def url(self) -> str: ...


class AnswerTooLarge(Exception):
    """A body larger than the bound: a hostile or broken server (13 GB of memory before the bound)."""


def read_bounded(resp: requests.Response, limit: int) -> None:
    """Read the body as requests would without ``stream``, but stop past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(2**16):
        size += len(chunk)
        if size > limit:
            resp.close()
            raise AnswerTooLarge()
        chunks.append(chunk)
    resp._content = b"".join(chunks)  # what requests' own non-streamed read leaves behind


def path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


_REASONS = (
    ("IncompleteRead", "the answer ended before the length it announced"),
    ("InvalidChunkLength", "the answer's chunked encoding is broken"),
    ("certificate verify failed", "certificate verify failed"),
    ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed"),
    ("hostname", "certificate does not match the host name"),
    ("wrong version number", "TLS spoken to a plain-HTTP server"),
    ("refused", "connection refused"),
    ("Name or service not known", "unknown host"),
    ("ResponseError", "too many error responses"),
    ("timed out", "timed out"),
    ("reset", "connection reset"),
    ("RemoteDisconnected", "connection closed without an answer"),
    ("aborted", "connection aborted"),
    ("InvalidURL", "an invalid URL"),
)


def short_reason(exc: BaseException) -> str:
    """A short cause without the URL (which may carry credentials) or nested reprs."""
    text = f"{type(exc).__name__}: {exc}"
    for marker, reason in _REASONS:
        if marker in text:
            return reason
    return type(exc).__name__


def tls_message(name: str, shown_url: str, exc: BaseException, ca_bundle: str | None, source: str) -> str:
    """Say what really failed (``shown_url`` without credentials): only an untrusted issuer without a CA bundle
    is fixed by --ca-bundle."""
    where = f"TLS verification failed for {name} at {shown_url}"
    text = str(exc)
    if "expired" in text:
        return f"{where}: the server's certificate has expired; it must be renewed (no CA bundle fixes that)"
    if "not yet valid" in text:
        return f"{where}: the server's certificate is not valid yet; check the clocks of both hosts"
    if "mismatch" in text or "match" in text and "hostname" in text:
        return (f"{where}: the certificate does not match the host name; use the name it was issued "
                "for in the URL")
    if "wrong version number" in text or "record layer failure" in text:
        return f"{where}: TLS spoken to a plain-HTTP server; use an http:// URL"
    if ca_bundle and ("unable to get" in text or "self" in text or "verify failed" in text):
        return (f"{where}: certificate verify failed: it is not signed by a CA in {ca_bundle} "
                f"(from {source}); check that this bundle holds the server's CA")
    if "verify failed" in text or "CERTIFICATE_VERIFY_FAILED" in text:
        return (f"{where}: certificate verify failed; pass --ca-bundle=<file> for a private CA "
                "(or --insecure, not recommended)")
    return f"{where}: {short_reason(exc)}"
