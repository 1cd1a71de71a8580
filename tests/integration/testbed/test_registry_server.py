"""RegistryServer runs the real docker-registry: start, stop, restart, errors."""

from __future__ import annotations

import pytest
import requests

from testbed.images import PushError, push_image
from testbed.registry_server import RegistryServer


def test_session_registry_answers_v2(registry: RegistryServer) -> None:
    response = requests.get(registry.url + "/v2/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert registry.url.startswith("http://127.0.0.1:")


@pytest.mark.network
def test_restart_keeps_storage_and_port(tmp_path) -> None:
    with RegistryServer(tmp_path / "data") as server:
        digest = push_image(server.url, "keep/me", "1-master", "2026-11-17T09:00:00Z")
        port = server.port
        server.restart()
        assert server.port == port
        response = requests.get(f"{server.url}/v2/keep/me/tags/list", timeout=5)
        assert response.json() == {"name": "keep/me", "tags": ["1-master"]}
        server.stop()
        assert not server.running
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/v2/", timeout=2)
    # A new server over the same directory sees the same data.
    with RegistryServer(tmp_path / "data") as again:
        head = requests.head(
            f"{again.url}/v2/keep/me/manifests/1-master",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=5,
        )
        assert head.headers["Docker-Content-Digest"] == digest


@pytest.mark.network
def test_environment_cannot_override_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_HTTP_ADDR", "0.0.0.0:1")
    with RegistryServer() as server:
        assert requests.get(server.url + "/v2/", timeout=5).status_code == 200


@pytest.mark.network
def test_schema1_push_needs_schema1_enabled() -> None:
    with RegistryServer(schema1=False) as server:
        with pytest.raises(PushError, match="schema1=True"):
            push_image(server.url, "old/one", "1", "2026-11-17T09:00:00Z", kind="schema1")
        # Reads of schema 2 still convert to schema 1 without the flag.
        push_image(server.url, "old/one", "2", "2026-11-17T09:00:00Z")
        response = requests.get(f"{server.url}/v2/old/one/manifests/2", timeout=5)
        assert response.json()["schemaVersion"] == 1
