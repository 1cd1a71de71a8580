"""RegistryProxy in front of the real registry: pass-through, pagination, latency, faults, death."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable
from urllib.parse import urljoin

import pytest
import requests

from testbed import images
from testbed.canned import canned
from testbed.proxy import RegistryProxy
from testbed.registry_server import RegistryServer


ProxyFactory = Callable[..., RegistryProxy]


@pytest.fixture
def repo_with_tags(registry: RegistryServer, unique_repo: str) -> tuple[str, list[str]]:
    pusher = images.ImagePusher(registry.url)
    tags = [f"{n}-master" for n in range(100, 107)]
    for tag in tags:
        pusher.push_image(unique_repo, tag, "2026-11-17T09:00:00Z")
    return unique_repo, tags


def follow_tags(url: str, repo: str, session: requests.Session | None = None) -> tuple[list[str], list[str]]:
    """All tags through Link headers; also the Link values seen."""
    http = session or requests.Session()
    next_url: str | None = f"{url}/v2/{repo}/tags/list"
    tags: list[str] = []
    links: list[str] = []
    while next_url:
        response = http.get(next_url, timeout=5)
        assert response.status_code == 200, response.text
        tags += response.json()["tags"]
        link = response.headers.get("Link")
        next_url = None
        if link:
            links.append(link)
            next_url = urljoin(url + "/", link.split(";")[0].strip("<> "))
    return tags, links


def test_push_and_pull_through_proxy(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str
) -> None:
    proxy = proxy_factory(registry.url)
    start = requests.post(f"{proxy.url}/v2/{unique_repo}/blobs/uploads/", timeout=5)
    assert start.status_code == 202
    assert start.headers["Location"].startswith(proxy.url + "/v2/")
    digest = images.push_image(proxy.url, unique_repo, "1-master", "2026-11-17T09:00:00Z", kind="list")
    response = requests.get(
        f"{proxy.url}/v2/{unique_repo}/manifests/1-master", headers={"Accept": images.ACCEPT_ALL}, timeout=5
    )
    assert response.headers["Docker-Content-Digest"] == digest
    assert response.headers["Content-Type"] == images.DOCKER_LIST
    head = requests.head(
        f"{proxy.url}/v2/{unique_repo}/manifests/1-master", headers={"Accept": images.ACCEPT_ALL}, timeout=5
    )
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(response.content))
    assert head.headers["Docker-Content-Digest"] == digest
    missing = requests.get(
        f"{proxy.url}/v2/{unique_repo}/manifests/nope", headers={"Accept": images.ACCEPT_ALL}, timeout=5
    )
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert proxy.counts["manifests"] >= 4 and proxy.counts["blobs"] >= 3
    assert proxy.counts["total"] == sum(proxy.counts[k] for k in ("tags", "manifests", "blobs", "other"))


def test_proxy_passes_basic_auth(registry_basic: RegistryServer, proxy_factory: ProxyFactory) -> None:
    proxy = proxy_factory(registry_basic.url)
    denied = requests.get(proxy.url + "/v2/", timeout=5)
    assert denied.status_code == 401 and denied.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(proxy.url + "/v2/", auth=registry_basic.auth, timeout=5).status_code == 200


def test_proxy_in_front_of_tls(registry_tls: RegistryServer, proxy_factory: ProxyFactory) -> None:
    proxy = proxy_factory(registry_tls.url, upstream_verify=registry_tls.ca_bundle)
    assert requests.get(proxy.url + "/v2/", timeout=5).status_code == 200


@pytest.mark.parametrize("link_style", ["relative", "absolute"])
def test_tag_pagination(
    registry: RegistryServer,
    proxy_factory: ProxyFactory,
    repo_with_tags: tuple[str, list[str]],
    link_style: str,
) -> None:
    repo, tags = repo_with_tags
    proxy = proxy_factory(registry.url, paginate_tags=3, link_style=link_style)
    seen, links = follow_tags(proxy.url, repo)
    assert seen == sorted(tags)
    assert len(links) == 2
    assert links[0].endswith('; rel="next"')
    target = links[0].split(";")[0].strip("<>")
    if link_style == "relative":
        assert target == f"/v2/{repo}/tags/list?n=3&last=102-master"
    else:
        assert target == f"{proxy.url}/v2/{repo}/tags/list?n=3&last=102-master"
    assert proxy.counts["tags"] == 3
    # A client's smaller n wins.
    page = requests.get(f"{proxy.url}/v2/{repo}/tags/list?n=2", timeout=5)
    assert page.json()["tags"] == sorted(tags)[:2]
    # Unknown repositories keep the registry's error.
    unknown = requests.get(f"{proxy.url}/v2/{repo}-nope/tags/list", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "NAME_UNKNOWN"


def test_latency(registry: RegistryServer, proxy_factory: ProxyFactory) -> None:
    proxy = proxy_factory(registry.url, latency=1.0)
    started = time.monotonic()
    assert requests.get(proxy.url + "/v2/", timeout=5).status_code == 200
    assert time.monotonic() - started >= 1.0
    proxy.latency = 0
    started = time.monotonic()
    requests.get(proxy.url + "/v2/", timeout=5)
    assert time.monotonic() - started < 0.9


def test_faults_are_deterministic(registry: RegistryServer, proxy_factory: ProxyFactory) -> None:
    def statuses(seed: int) -> list[int]:
        proxy = proxy_factory(registry.url, fault_rate=0.5, fault_statuses=(500, 503, 429), seed=seed)
        with requests.Session() as session:
            return [session.get(proxy.url + "/v2/", timeout=5).status_code for _ in range(30)]

    first, again = statuses(7), statuses(7)
    assert first == again
    assert set(first) == {200, 500, 503, 429}


def test_429_has_retry_after_and_fail_next(registry: RegistryServer, proxy_factory: ProxyFactory) -> None:
    proxy = proxy_factory(registry.url, fault_rate=1.0, fault_statuses=(429,))
    response = requests.get(proxy.url + "/v2/", timeout=5)
    assert response.status_code == 429 and response.headers["Retry-After"] == "0"
    proxy.fault_rate = 0
    proxy.fail_next(2, status=503)
    assert [requests.get(proxy.url + "/v2/", timeout=5).status_code for _ in range(3)] == [503, 503, 200]
    assert proxy.faults_injected == 3


def test_faults_limited_to_kinds(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str
) -> None:
    proxy = proxy_factory(registry.url, fault_rate=1.0, fault_statuses=(500,), fault_kinds={"manifests"})
    assert requests.get(proxy.url + "/v2/", timeout=5).status_code == 200
    assert requests.get(f"{proxy.url}/v2/{unique_repo}/manifests/x", timeout=5).status_code == 500


def test_dead_and_kill(registry: RegistryServer, proxy_factory: ProxyFactory) -> None:
    proxy = proxy_factory(registry.url, die_after=2)
    session = requests.Session()
    assert session.get(proxy.url + "/v2/", timeout=5).status_code == 200
    assert session.get(proxy.url + "/v2/", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        session.get(proxy.url + "/v2/", timeout=5)
    proxy.revive()
    assert session.get(proxy.url + "/v2/", timeout=5).status_code == 200
    proxy.kill()
    with pytest.raises(requests.ConnectionError):
        session.get(proxy.url + "/v2/", timeout=5)  # the kept-alive connection is dropped
    with pytest.raises(requests.ConnectionError):
        requests.get(proxy.url + "/v2/", timeout=5)  # new connections are refused
    proxy.revive()
    assert requests.get(proxy.url + "/v2/", timeout=5).status_code == 200


def test_rewrite_serves_a_malformed_manifest(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str
) -> None:
    images.push_image(registry.url, unique_repo, "good", "2026-11-17T09:00:00Z")

    def rewrite(path: str):
        if path.endswith("/manifests/broken"):
            return canned(
                200,
                b'{"schemaVersion": 2, "config": ',
                images.DOCKER_MANIFEST,
                {"Docker-Content-Digest": "sha256:" + "1" * 64},
            )
        return None

    proxy = proxy_factory(registry.url, rewrite=rewrite)
    broken = requests.get(f"{proxy.url}/v2/{unique_repo}/manifests/broken", timeout=5)
    assert broken.status_code == 200 and broken.content == b'{"schemaVersion": 2, "config": '
    assert broken.headers["Content-Type"] == images.DOCKER_MANIFEST
    good = requests.get(
        f"{proxy.url}/v2/{unique_repo}/manifests/good", headers={"Accept": images.ACCEPT_ALL}, timeout=5
    )
    assert good.status_code == 200 and good.json()["schemaVersion"] == 2
    assert proxy.counts["manifests"] == 2


def test_response_hook_can_drop_headers(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str
) -> None:
    images.push_image(registry.url, unique_repo, "t", "2026-11-17T09:00:00Z")

    def hook(path, status, headers, body):
        return status, {k: v for k, v in headers.items() if k != "Docker-Content-Digest"}, body

    proxy = proxy_factory(registry.url, response_hook=hook)
    response = requests.get(
        f"{proxy.url}/v2/{unique_repo}/manifests/t", headers={"Accept": images.ACCEPT_ALL}, timeout=5
    )
    assert response.status_code == 200 and "Docker-Content-Digest" not in response.headers


def test_sixteen_concurrent_clients(
    registry: RegistryServer, proxy_factory: ProxyFactory, repo_with_tags: tuple[str, list[str]]
) -> None:
    """The proxy serves clients in parallel (measured as overlap, not as wall time)."""
    repo, tags = repo_with_tags
    lock = threading.Lock()
    in_flight = {"now": 0, "max": 0}

    def track(path: str) -> None:
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        time.sleep(0.02)
        with lock:
            in_flight["now"] -= 1
        return None

    proxy = proxy_factory(registry.url, rewrite=track)
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=16)
    session.mount("http://", adapter)

    def fetch(i: int) -> str:
        tag = tags[i % len(tags)]
        response = session.get(
            f"{proxy.url}/v2/{repo}/manifests/{tag}", headers={"Accept": images.ACCEPT_ALL}, timeout=10
        )
        assert response.status_code == 200
        return response.headers["Docker-Content-Digest"]

    with ThreadPoolExecutor(16) as pool:
        digests = list(pool.map(fetch, range(160)))
    assert len(digests) == 160 and proxy.counts["manifests"] == 160
    assert in_flight["max"] >= 4, f"no real concurrency: at most {in_flight['max']} requests at once"
