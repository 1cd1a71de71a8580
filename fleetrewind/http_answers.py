"""What a request's answer or failure says, bounded and without a URL: the answer's size bound, the
request's path, and the short cause of a failure (a URL may carry credentials; a nested repr says nothing).
"""

from __future__ import annotations

import urllib.parse

import requests


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
