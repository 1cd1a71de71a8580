"""The registry's direct reads (fleetrewind/directread.py) on scripted sockets: what they answer themselves,
and everything they hand to the transport, which `responses` answers here. Against real servers, side by
side with the transport: tests/integration/test_directread.py."""

from __future__ import annotations

import socket
import ssl
from typing import Any, Iterator

import pytest
import responses

from fleetrewind import directread
from fleetrewind.directread import DirectReads
from fleetrewind.errors import UnreachableError
from fleetrewind.session import make_session
from fleetrewind.transport import TLS, CredentialsRefused, Transport

BASE = "http://registry.test:5000"
PATH = "/v2/api/manifests/1-master"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"


class FakeSocket:
    """Each request sent queues its scripted answer; recv hands it out ``piece`` bytes at a time, then b""."""

    def __init__(self, answers: list[bytes | BaseException], piece: int) -> None:
        self.answers = answers
        self.piece = piece
        self.pending = b""
        self.sent: list[bytes] = []
        self.closed = False
        self.error: BaseException | None = None

    def setsockopt(self, *args: Any) -> None:
        pass

    def settimeout(self, value: float) -> None:
        assert value > 0

    def sendall(self, data: bytes) -> None:
        self.sent.append(data)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, BaseException):
                self.error = answer
            else:
                self.pending += answer

    def recv(self, size: int) -> bytes:
        if self.error is not None:
            raise self.error
        data, self.pending = self.pending[:min(size, self.piece)], self.pending[min(size, self.piece):]
        return data

    def close(self) -> None:
        self.closed = True


class Wire:
    """The sockets the direct reads open: each connection takes the next script."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.scripts: list[list[bytes | BaseException] | BaseException] = []
        self.sockets: list[FakeSocket] = []
        self.piece = 65536
        monkeypatch.setattr(directread.socket, "create_connection", self.connect)

    def connect(self, address: tuple[str, int], timeout: float) -> FakeSocket:
        assert address == ("registry.test", 5000) and timeout > 0
        script = self.scripts.pop(0)
        if isinstance(script, BaseException):
            raise script
        sock = FakeSocket(script, self.piece)
        self.sockets.append(sock)
        return sock


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    return Wire(monkeypatch)


@pytest.fixture
def full() -> Iterator[responses.RequestsMock]:
    """The transport's own path; a test that expects no call to it registers nothing."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def reads(url: str = BASE, **transport: Any) -> DirectReads:
    return DirectReads(Transport(url, tls=TLS(), session=make_session(backoff=0), name="registry", **transport))


def test_a_plain_answer_is_read_and_the_connection_kept(wire: Wire, full: responses.RequestsMock) -> None:
    wire.scripts = [[OK, OK]]
    direct = reads()
    first = direct.read(PATH, headers={"Accept": "application/json", "Authorization": "Bearer t0k"})
    second = direct.read("/v2/api/blobs/sha256:ab", headers={})
    assert (first.status_code, first.content, first.url) == (200, b'{"a":1}', BASE + PATH)
    assert first.headers.get("content-type") == first.headers["Content-Type"] == "application/json"
    assert "CONTENT-LENGTH" in first.headers and second.content == b'{"a":1}'
    assert len(wire.sockets) == 1, "one kept-alive connection for both"
    request = wire.sockets[0].sent[0].decode()
    assert request.startswith(f"GET {PATH} HTTP/1.1\r\nHost: registry.test:5000\r\nUser-Agent: fleetrewind/")
    assert "\r\nAccept: application/json\r\nAuthorization: Bearer t0k\r\n\r\n" in request
    assert "\r\nAccept: */*\r\n" in wire.sockets[0].sent[1].decode()


def test_an_answer_trickled_byte_by_byte_reads_the_same(wire: Wire, full: responses.RequestsMock) -> None:
    wire.piece = 1
    wire.scripts = [[OK]]
    assert reads().read(PATH, headers={}).content == b'{"a":1}'


def test_repeated_fields_are_joined_as_urllib3_joins_them(wire: Wire, full: responses.RequestsMock) -> None:
    wire.scripts = [[b"HTTP/1.1 404 Not Found\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n"]]
    answer = reads().read(PATH, headers={})
    assert answer.status_code == 404 and answer.headers["X-A"] == "1, 2" and answer.content == b""


def test_a_chunked_body_with_extensions_and_trailers(wire: Wire, full: responses.RequestsMock) -> None:
    body = b"4;name=x\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nTrailer: y\r\n\r\n"
    wire.scripts = [[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body, OK]]
    direct = reads()
    assert direct.read(PATH, headers={}).content == b'{"a":1}'
    assert direct.read(PATH, headers={}).content == b'{"a":1}'
    assert len(wire.sockets) == 1


def test_a_body_without_length_ends_with_the_connection(wire: Wire, full: responses.RequestsMock) -> None:
    wire.scripts = [[b"HTTP/1.0 200 OK\r\n\r\nall of it"], [OK]]
    direct = reads()
    assert direct.read(PATH, headers={}).content == b"all of it"
    assert wire.sockets[0].closed
    assert direct.read(PATH, headers={}).status_code == 200 and len(wire.sockets) == 2


@pytest.mark.parametrize("first", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra",
], ids=["connection-close", "http-1.0", "bytes-nobody-asked-for"])
def test_a_connection_is_not_reused_after_an_answer_that_ends_it(wire: Wire, full: responses.RequestsMock,
                                                                 first: bytes) -> None:
    wire.scripts = [[first, OK], [OK]]  # were the first connection reused, its second answer would be read
    direct = reads()
    assert direct.read(PATH, headers={}).content == b"ok"
    assert direct.read(PATH, headers={}).content == b'{"a":1}'
    assert wire.sockets[0].closed and len(wire.sockets) == 2 and wire.sockets[1].sent


def test_a_kept_alive_connection_closed_without_a_word_hands_the_reads_to_the_transport(
        wire: Wire, full: responses.RequestsMock) -> None:
    wire.scripts = [[OK], [OK]]  # the first connection answers once, then reads as closed
    full.get(BASE + PATH, body=b"from the transport", status=200)
    direct = reads()
    direct.read(PATH, headers={})
    assert direct.read(PATH, headers={}).content == b"from the transport", "sent once more, by the transport"
    assert direct.read(PATH, headers={}).content == b"from the transport"
    assert wire.sockets[0].closed and len(wire.sockets) == 1 and direct.off, \
        "a registry dying mid-get is not asked once more per read on a new socket"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_status_the_transport_retries_goes_to_the_transport(wire: Wire, full: responses.RequestsMock,
                                                              status: int) -> None:
    wire.scripts = [[f"HTTP/1.1 {status} No\r\nContent-Length: 0\r\n\r\n".encode(), OK]]
    full.get(BASE + PATH, body=b"from the transport", status=200)
    direct = reads()
    assert direct.read(PATH, headers={}).content == b"from the transport"
    assert direct.read(PATH, headers={}).content == b'{"a":1}', "the direct reads go on"


def test_a_413_with_retry_after_goes_to_the_transport(wire: Wire, full: responses.RequestsMock) -> None:
    wire.scripts = [[b"HTTP/1.1 413 Too Large\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"]]
    full.get(BASE + PATH, body=b"later", status=200)
    assert reads().read(PATH, headers={}).content == b"later"


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/2 200\r\nContent-Length: 2\r\n\r\nok",
    b"ICY 200 OK\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
], ids=["folded", "gzip", "other-coding", "chunked-and-length", "two-lengths", "cut-short", "interim",
        "http2", "not-http", "nameless", "bad-chunk-size"])
def test_an_unusual_answer_is_left_to_the_transport(wire: Wire, full: responses.RequestsMock,
                                                    answer: bytes) -> None:
    wire.scripts = [[answer], [OK]]
    full.get(BASE + PATH, body=b"from the transport", status=200)
    direct = reads()
    assert direct.read(PATH, headers={}).content == b"from the transport"
    assert wire.sockets[0].closed, "a connection that said something unusual is not reused"
    assert direct.read(PATH, headers={}).content == b'{"a":1}' and len(wire.sockets) == 2


def test_a_connection_that_fails_hands_this_read_and_the_rest_to_the_transport(wire: Wire,
                                                                              full: responses.RequestsMock) -> None:
    wire.scripts = [ConnectionRefusedError(111, "refused")]
    full.get(BASE + PATH, body=b"from the transport", status=200)
    direct = reads()
    assert direct.read(PATH, headers={}).content == b"from the transport"
    assert direct.read(PATH, headers={}).content == b"from the transport"
    assert direct.off and wire.scripts == [], "no second connection attempt"
    assert len(full.calls) == 2


def test_a_read_timeout_is_retried_by_the_transport(wire: Wire, full: responses.RequestsMock) -> None:
    wire.scripts = [[socket.timeout("timed out")]]
    full.get(BASE + PATH, body=b"from the transport", status=200)
    assert reads().read(PATH, headers={}).content == b"from the transport"


def test_an_answer_past_the_size_bound_is_the_transports_error_and_not_sent_again(
        wire: Wire, full: responses.RequestsMock) -> None:
    wire.scripts = [[b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (200 * 2**20)]]
    with pytest.raises(UnreachableError, match=r"answered GET /v2/api/manifests/1-master with more than 128 MB"):
        reads().read(PATH, headers={})
    assert wire.sockets[0].closed


def test_a_trickle_past_the_deadline_is_the_transports_error(wire: Wire, full: responses.RequestsMock,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]

    def later() -> float:
        clock[0] += 0.4  # every look at the clock: a byte every 0.4 s
        return clock[0]

    monkeypatch.setattr(directread.time, "monotonic", later)
    wire.piece = 1
    wire.scripts = [[OK]]
    with pytest.raises(UnreachableError, match=r"did not finish GET /v2/api/manifests/1-master within 5 s"):
        reads(timeout=2.0, deadline=5.0).read(PATH, headers={})


def test_a_redirect_elsewhere_is_read_by_the_transport_without_credentials(wire: Wire,
                                                                          full: responses.RequestsMock) -> None:
    wire.scripts = [[b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://storage.test/blob?sig=1\r\n"
                     b"Content-Length: 0\r\n\r\n"]]
    seen = full.get("http://storage.test/blob?sig=1", body=b"blob", status=200)
    answer = reads().read("/v2/api/blobs/sha256:ab", headers={"Authorization": "Bearer t0k"})
    assert answer.content == b"blob" and answer.url == "http://storage.test/blob?sig=1"
    assert "Authorization" not in seen.calls[0].request.headers


def test_a_redirect_on_the_same_origin_keeps_the_credentials(wire: Wire, full: responses.RequestsMock) -> None:
    wire.scripts = [[b"HTTP/1.1 302 Found\r\nLocation: /v2/api/blobs/moved\r\nContent-Length: 0\r\n\r\n"]]
    seen = full.get(BASE + "/v2/api/blobs/moved", body=b"blob", status=200)
    assert reads().read("/v2/api/blobs/sha256:ab", headers={"Authorization": "Bearer t0k"}).content == b"blob"
    assert seen.calls[0].request.headers["Authorization"] == "Bearer t0k"


def test_a_redirect_to_plain_http_is_refused(wire: Wire, full: responses.RequestsMock,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", lambda self, sock, server_hostname: sock)
    wire.scripts = [[b"HTTP/1.1 301 Moved\r\nLocation: http://registry.test:5000/x\r\nContent-Length: 0\r\n\r\n"]]
    with pytest.raises(CredentialsRefused, match="refusing to follow a redirect of GET /v2/api/blobs/sha256:ab "
                                                 "from registry at https://registry.test:5000 from https to plain"):
        reads("https://registry.test:5000").read("/v2/api/blobs/sha256:ab", headers={})


@pytest.mark.parametrize("value", ["Bearer a\r\nX-Injected: 1", "Bearer a\nb", "Bearer \x00", "Bearer é", " Bearer a"])
def test_a_header_value_it_would_not_send_goes_to_the_transport(wire: Wire, full: responses.RequestsMock,
                                                                value: str) -> None:
    full.assert_all_requests_are_fired = False  # requests refuses CR, LF and NUL before sending
    full.get(BASE + PATH, body=b"from the transport", status=200)
    try:
        assert reads().read(PATH, headers={"Authorization": value}).content == b"from the transport"
    except UnreachableError:  # requests' own refusal of the value is the transport's answer
        assert "\r" in value or "\n" in value or "\x00" in value or value.startswith(" ")
    assert wire.sockets == [], "nothing was written on a socket of its own"


def test_a_proxy_credentials_or_a_unicode_host_leave_every_read_to_the_transport(
        wire: Wire, full: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    full.get(BASE + PATH, body=b"via the proxy", status=200)
    direct = reads()
    assert direct.read(PATH, headers={}).content == b"via the proxy" and direct.off
    assert reads("http://user:pw@registry.test:5000").off
    assert reads("http://régistry.test:5000").off, "a host name beyond ASCII: requests' IDNA encoding"
    assert wire.sockets == []


def test_close_closes_every_threads_connection(wire: Wire, full: responses.RequestsMock) -> None:
    import threading

    wire.scripts = [[OK], [OK]]
    direct = reads()
    direct.read(PATH, headers={})
    worker = threading.Thread(target=direct.read, args=(PATH,), kwargs={"headers": {}})
    worker.start()
    worker.join()
    assert len(wire.sockets) == 2 and not any(s.closed for s in wire.sockets)
    direct.close()
    assert all(s.closed for s in wire.sockets)


def test_a_tag_page_and_a_next_page_on_the_registrys_own_origin_are_read_directly(
        wire: Wire, full: responses.RequestsMock) -> None:
    wire.scripts = [[OK, OK]]
    direct = reads()
    assert direct.read("/v2/api/tags/list?n=1000", headers={}).url == BASE + "/v2/api/tags/list?n=1000"
    page = f"{BASE}/v2/api/tags/list?last=b%2Fc&n=1000"
    assert direct.read(page, headers={}).url == page
    sent = [s.decode().split("\r\n")[0] for s in wire.sockets[0].sent]
    assert sent == ["GET /v2/api/tags/list?n=1000 HTTP/1.1", "GET /v2/api/tags/list?last=b%2Fc&n=1000 HTTP/1.1"]


@pytest.mark.parametrize("where", ["http://elsewhere.test:5000/v2/api/tags/list?n=2", "https://registry.test:5000/x",
                                   "http://user:pw@registry.test:5000/x", BASE + "/v2/api/tags/list#frag",
                                   BASE + "/v2/a b", BASE + "/v2/%zz"])
def test_a_url_not_plainly_the_registrys_own_goes_to_the_transport(wire: Wire, full: responses.RequestsMock,
                                                                   where: str) -> None:
    full.assert_all_requests_are_fired = False  # requests may refuse some before sending
    full.get(where.split("#")[0].replace("user:pw@", ""), body=b"from the transport", status=200)
    try:
        reads().read(where, headers={})
    except Exception:  # the transport's own answer to an odd URL
        pass
    assert wire.sockets == []
