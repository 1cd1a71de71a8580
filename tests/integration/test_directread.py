"""The registry's direct reads against real servers, side by side with the transport they stand in for:
the same dates and digests from the real registry (every manifest kind, Basic and token auth, TLS), the
same answers or errors from a server that sends odd HTTP, and the reads really made on their own sockets."""

from __future__ import annotations

import gzip
import socketserver
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pytest

from fleetrewind import directread
from fleetrewind.directread import DirectReads
from fleetrewind.errors import RollbackError
from fleetrewind.registry.client import RegistryClient
from fleetrewind.transport import TLS, Transport
from testbed.images import push_image
from tests.unit.test_registry_client import client_for

AMD64 = "2026-11-19T10:02:03Z"


def counted(client: RegistryClient) -> list[str]:
    """The requests that went through the transport's own path (tags, tokens, fallbacks)."""
    calls: list[str] = []
    request = client.transport.request

    def counting(method: str, path: str, **kwargs: Any) -> Any:
        calls.append(path)
        return request(method, path, **kwargs)

    client.transport.request = counting  # type: ignore[method-assign]
    return calls


def outcome(read: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        got = read()
    except RollbackError as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("answer", got)


def side_by_side(url: str, repo: str, **options: Any) -> list[str]:
    """Read repo:3-master directly and through the transport: the same date and digest. Returns what the
    direct client still sent through the transport."""
    direct = client_for(url, direct=True, **options)
    through_transport = counted(direct)
    assert direct.image_date(repo, "3-master") == client_for(url, **options).image_date(repo, "3-master")
    direct.close()
    return through_transport


@pytest.mark.parametrize("kind", ["docker2", "oci", "list", "index", "schema1"])
def test_every_manifest_kind_reads_the_same_on_its_own_sockets(registry, unique_repo: str, kind: str) -> None:
    push_image(registry.url, unique_repo, "3-master", AMD64, kind=kind)
    assert side_by_side(registry.url, unique_repo) == [], "every manifest and blob read went out directly"


def test_basic_auth_is_sent_on_the_direct_reads(registry_basic, unique_repo: str) -> None:
    push_image(registry_basic.url, unique_repo, "3-master", AMD64, auth=registry_basic.auth)
    assert side_by_side(registry_basic.url, unique_repo, auth=registry_basic.auth) == []
    wrong = client_for(registry_basic.url, auth=("ci", "wrong"), direct=True)
    plain_wrong = client_for(registry_basic.url, auth=("ci", "wrong"))
    assert outcome(lambda: wrong.image_date(unique_repo, "3-master")) == \
        outcome(lambda: plain_wrong.image_date(unique_repo, "3-master"))


def test_a_token_is_fetched_by_the_transport_and_used_on_the_direct_reads(registry_token, unique_repo: str) -> None:
    push_image(registry_token.url, unique_repo, "3-master", AMD64, auth=registry_token.auth)
    through_transport = side_by_side(registry_token.url, unique_repo, auth=registry_token.auth)
    assert len(through_transport) == 1 and through_transport[0].startswith(registry_token.token_auth.url), \
        "only the token itself; the 401 that asked for it came on a direct read"


def test_tls_is_verified_on_the_direct_reads(registry_tls, unique_repo: str) -> None:
    push_image(registry_tls.url, unique_repo, "3-master", AMD64, verify=registry_tls.ca_bundle)
    trusted = client_for(registry_tls.url, tls=TLS(ca_bundle=registry_tls.ca_bundle), direct=True)
    through_transport = counted(trusted)
    assert trusted.image_date(unique_repo, "3-master").digest
    assert through_transport == []
    insecure = client_for(registry_tls.url, tls=TLS(insecure=True), direct=True)
    assert insecure.image_date(unique_repo, "3-master").digest
    untrusted = client_for(registry_tls.url, direct=True)
    through_transport = counted(untrusted)
    failed = outcome(lambda: untrusted.image_date(unique_repo, "3-master"))
    assert failed == outcome(lambda: client_for(registry_tls.url).image_date(unique_repo, "3-master"))
    assert failed[0] == "error" and "certificate verify failed" in failed[2]
    assert untrusted.reads.off and len(through_transport) == 1  # type: ignore[attr-defined]


# -- a server that says odd things ---------------------------------------------------------------

class Canned(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    answers: dict[str, bytes]


class _Handler(socketserver.StreamRequestHandler):
    server: Canned

    def handle(self) -> None:
        while True:
            line = self.rfile.readline()
            if not line:
                return
            path = line.split(b" ")[1].decode()
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            answer = self.server.answers.get(path.split("?")[0], b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            self.wfile.write(answer)
            self.wfile.flush()
            if b"close" in answer.split(b"\r\n\r\n")[0].lower() or b"HTTP/1.0" in answer[:8]:
                return


@pytest.fixture
def canned() -> Iterator[Canned]:
    server = Canned(("127.0.0.1", 0), _Handler)
    server.answers = {}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


ZIPPED = gzip.compress(b'{"zipped":true}')
ANSWERS = {
    "plain": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nT: 1\r\n\r\n",
    "to-the-close": b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it",
    "not-found": b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 43\r\n\r\n"
                 b"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]} \n\n",
    "challenge": b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n",
    "repeated": b"HTTP/1.1 200 OK\r\nDocker-Content-Digest: sha256:aa\r\nDocker-Content-Digest: sha256:bb\r\n"
                b"Content-Length: 2\r\n\r\nok",
    "unavailable": b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
    "redirected": b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /v2/plain\r\nContent-Length: 0\r\n\r\n",
    "folded": b"HTTP/1.1 200 OK\r\nX-Note: one\r\n two\r\nContent-Length: 2\r\n\r\nok",
    "zipped": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(ZIPPED) + ZIPPED,
    "cut-short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort",
    "no-content": b"HTTP/1.1 204 No Content\r\n\r\n",
}
HEADERS = ("Content-Type", "Docker-Content-Digest", "WWW-Authenticate", "X-Note", "Location")


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_an_odd_answer_reads_as_the_transport_reads_it(canned: Canned, name: str) -> None:
    canned.answers = {f"/v2/{key}": answer for key, answer in ANSWERS.items()}
    url = f"http://127.0.0.1:{canned.server_address[1]}"
    direct, plain = client_for(url, direct=True, retries=1), client_for(url, retries=1)

    def seen(client: RegistryClient) -> Callable[[], tuple[Any, ...]]:
        def read() -> tuple[Any, ...]:
            answer = client.reads.read(f"/v2/{name}", headers={"Accept": "application/json"})
            return (answer.status_code, answer.content, answer.url, [answer.headers.get(h) for h in HEADERS])
        return read

    assert outcome(seen(direct)) == outcome(seen(plain))
    direct.close()
    plain.close()


def test_concurrent_reads_keep_one_connection_per_worker(registry, unique_repo: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    connect = directread.socket.create_connection
    monkeypatch.setattr(directread.socket, "create_connection",
                        lambda *args, **kwargs: opened.append(args) or connect(*args, **kwargs))
    for build in range(1, 13):
        push_image(registry.url, unique_repo, f"{build}-master", f"2026-11-{build:02d}T10:00:00Z")
    transport = Transport(registry.url, tls=TLS(), name="registry")
    client = RegistryClient(transport, reads=DirectReads(transport))
    with ThreadPoolExecutor(4) as pool:
        dates = list(pool.map(lambda b: client.image_date(unique_repo, f"{b}-master"), range(1, 13)))
    assert [d.created.day for d in dates] == list(range(1, 13))
    assert 1 <= len(opened) <= 4
    client.close()
