"""headerparse builds the very message ``http.client.parse_headers`` builds, under the same limits."""

from __future__ import annotations

import http.client
import io
import socket

import pytest

from fleetrewind.headerparse import Response, parse_headers

REGISTRY = (b"Content-Length: 1234\r\nContent-Type: application/vnd.docker.distribution.manifest.v2+json\r\n"
            b"Docker-Content-Digest: sha256:" + b"0" * 64 + b"\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
            b"Etag: \"sha256:" + b"0" * 64 + b"\"\r\nX-Content-Type-Options: nosniff\r\n"
            b"Date: Sun, 06 Dec 2026 23:40:11 GMT\r\n\r\n")

BLOCKS = {
    "registry": REGISTRY,
    "no headers": b"\r\n",
    "bare LF": b"Content-Length: 2\nX-A: b\n\n",
    "repeated": b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nWWW-Authenticate: Bearer realm=\"x\"\r\n\r\n",
    "spaces and tabs": b"X-A:\t  padded \t\r\nX-B:\r\nX-C:no-space\r\n\r\n",
    "latin-1 value": b"X-Name: caf\xe9 \xff\r\n\r\n",
    "folded": b"X-A: one\r\n two\r\nX-B: c\r\n\r\n",
    "folded first": b" X-A: one\r\nX-B: c\r\n\r\n",
    "no colon": b"X-A: one\r\nnot a header\r\nX-B: c\r\n\r\n",
    "nameless": b": value\r\nX-B: c\r\n\r\n",
    "space in name": b"X A: one\r\n\r\n",
    "unix from": b"From someone\r\nX-B: c\r\n\r\n",
    "bare CR": b"X-A: one\rX-Injected: two\r\n\r\n",
    "multipart": b"Content-Type: multipart/mixed; boundary=x\r\n\r\n",
    "message": b"Content-Type: message/rfc822\r\n\r\n",
    "delivery status": b"Content-Type: message/delivery-status\r\n\r\n",
    "cut short": b"X-A: one\r\nX-B: c\r\n",
    "nothing": b"",
    "non-ascii name": b"X-\xe9: one\r\n\r\n",
}


def _fields(message: http.client.HTTPMessage) -> dict[str, object]:
    """Everything the message holds (defects and parts compare by identity, so by their contents here)."""
    payload = message.get_payload()
    return {**vars(message), "defects": [repr(defect) for defect in message.defects],
            "_payload": [_fields(part) for part in payload] if isinstance(payload, list) else payload}


@pytest.mark.parametrize("name", BLOCKS)
def test_the_same_message_as_http_client(name: str) -> None:
    block = BLOCKS[name] + b"body that stays unread"
    ours, theirs = io.BytesIO(block), io.BytesIO(block)
    mine, stock = parse_headers(ours), http.client.parse_headers(theirs)
    assert type(mine) is type(stock)
    assert _fields(mine) == _fields(stock)
    assert ours.tell() == theirs.tell()  # the body starts where it did


def test_the_limits_of_http_client() -> None:
    with pytest.raises(http.client.LineTooLong):
        parse_headers(io.BytesIO(b"X-A: " + b"a" * 70000 + b"\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        parse_headers(io.BytesIO(b"X-A: a\r\n" * 101 + b"\r\n"))


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\n" + REGISTRY.replace(b"1234", b"4") + b"body",
    b"HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
    b"HTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\nnope",
    b"HTTP/1.1 204 No Content\r\nX-A: one\r\n two\r\n\r\n",
])
def test_a_response_reads_as_http_clients_does(answer: bytes) -> None:
    seen = []
    for response_class in (Response, http.client.HTTPResponse):
        ours, server = socket.socketpair()
        with ours, server:
            server.sendall(answer)
            server.shutdown(socket.SHUT_WR)
            response = response_class(ours, method="GET")
            response.begin()
            seen.append((response.status, response.reason, response.version, _fields(response.msg), response.chunked,
                         response.length, response.will_close, response.read()))
            response.close()
    assert seen[0] == seen[1]
