"""push_image puts every manifest kind into the real registry, readable with the right Accept."""

from __future__ import annotations

import json

import pytest
import requests

from testbed import images
from testbed.fleet import SAMPLE_FLEET, populate
from testbed.registry_server import RegistryServer

CREATED = "2026-11-21T20:50:51.32414271Z"


def get_manifest(url: str, repo: str, ref: str, accept: str = images.ACCEPT_ALL) -> requests.Response:
    response = requests.get(f"{url}/v2/{repo}/manifests/{ref}", headers={"Accept": accept}, timeout=5)
    assert response.status_code == 200, response.text
    return response


def config_created(url: str, repo: str, manifest: dict) -> str | None:
    blob = requests.get(f"{url}/v2/{repo}/blobs/{manifest['config']['digest']}", timeout=5)
    assert blob.status_code == 200
    return json.loads(blob.content).get("created")


@pytest.mark.parametrize(
    ("kind", "media_type"),
    [("docker2", images.DOCKER_MANIFEST), ("oci", images.OCI_MANIFEST)],
)
def test_single_manifest_kinds(
    registry: RegistryServer, unique_repo: str, kind: str, media_type: str
) -> None:
    digest = images.push_image(registry.url, unique_repo, "510-master", CREATED, kind=kind)
    response = get_manifest(registry.url, unique_repo, "510-master")
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Docker-Content-Digest"] == digest == images.sha256_digest(response.content)
    manifest = response.json()
    assert config_created(registry.url, unique_repo, manifest) == CREATED
    assert len(manifest["layers"]) == 1


@pytest.mark.parametrize(
    ("kind", "media_type", "child_type"),
    [("list", images.DOCKER_LIST, images.DOCKER_MANIFEST), ("index", images.OCI_INDEX, images.OCI_MANIFEST)],
)
def test_multi_platform_kinds(
    registry: RegistryServer, unique_repo: str, kind: str, media_type: str, child_type: str
) -> None:
    digest = images.push_image(
        registry.url,
        unique_repo,
        "7-master",
        CREATED,
        kind=kind,
        platforms=("linux/arm64", "linux/amd64", "linux/arm/v7"),
        platform_created={"linux/arm64": "2026-12-01T00:00:00Z"},
    )
    response = get_manifest(registry.url, unique_repo, "7-master")
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Docker-Content-Digest"] == digest
    children = response.json()["manifests"]
    assert [c["platform"]["architecture"] for c in children] == ["arm64", "amd64", "arm"]
    assert children[2]["platform"]["variant"] == "v7"
    dates = {}
    for child in children:
        assert child["mediaType"] == child_type
        manifest = get_manifest(registry.url, unique_repo, child["digest"]).json()
        dates[child["platform"]["architecture"]] = config_created(registry.url, unique_repo, manifest)
    assert dates == {"arm64": "2026-12-01T00:00:00Z", "amd64": CREATED, "arm": CREATED}


def test_list_read_without_list_type_yields_amd64_child(registry: RegistryServer, unique_repo: str) -> None:
    images.push_image(
        registry.url,
        unique_repo,
        "1-master",
        CREATED,
        kind="list",
        platforms=("linux/arm64", "linux/amd64"),
        platform_created={"linux/arm64": "2026-12-01T00:00:00Z"},
    )
    response = get_manifest(registry.url, unique_repo, "1-master", accept=images.DOCKER_MANIFEST)
    assert response.headers["Content-Type"] == images.DOCKER_MANIFEST
    assert config_created(registry.url, unique_repo, response.json()) == CREATED


def test_schema1_signed_manifest(registry: RegistryServer, unique_repo: str) -> None:
    digest = images.push_image(registry.url, unique_repo, "300-master", CREATED, kind="schema1")
    first = get_manifest(registry.url, unique_repo, "300-master")
    second = get_manifest(registry.url, unique_repo, "300-master")
    assert first.headers["Content-Type"] == images.SCHEMA1_SIGNED
    assert first.headers["Docker-Content-Digest"] == second.headers["Docker-Content-Digest"] == digest
    manifest = first.json()
    assert manifest["schemaVersion"] == 1 and manifest["signatures"]
    created = [json.loads(h["v1Compatibility"])["created"] for h in manifest["history"]]
    assert len(created) == 3
    assert max(created) == CREATED and created[0] != CREATED  # the newest is not first


def test_default_accept_converts_schema2_and_hides_oci(registry: RegistryServer, unique_repo: str) -> None:
    """Why the reader sends an Accept list: with requests' */* the registry converts or hides manifests."""
    images.push_image(registry.url, unique_repo, "d", CREATED, kind="docker2")
    images.push_image(registry.url, unique_repo, "o", CREATED, kind="oci")
    converted = requests.get(f"{registry.url}/v2/{unique_repo}/manifests/d", timeout=5)
    assert converted.status_code == 200
    assert converted.json()["schemaVersion"] == 1
    hidden = requests.get(f"{registry.url}/v2/{unique_repo}/manifests/o", timeout=5)
    assert hidden.status_code == 404


def test_blobs_are_reused(registry: RegistryServer, unique_repo: str) -> None:
    session = requests.Session()
    calls: list[str] = []
    session.hooks["response"].append(lambda r, *a, **k: calls.append(r.request.method))
    pusher = images.ImagePusher(registry.url, session=session)
    pusher.push_image(unique_repo, "1", "2026-11-17T09:00:00Z")
    calls.clear()
    pusher.push_image(unique_repo, "2", "2026-11-18T09:00:00Z")
    # Known layer skipped; new config: HEAD, POST, PUT; then the manifest PUT.
    assert calls == ["HEAD", "POST", "PUT", "PUT"]


def test_same_content_same_digest(registry: RegistryServer, unique_repo: str) -> None:
    a = images.push_image(registry.url, unique_repo, "515-master", "2026-11-20T09:30:00Z")
    b = images.push_image(registry.url, unique_repo, "latest", "2026-11-20T09:30:00Z")
    assert a == b


def test_config_blob_oddities_are_accepted(registry: RegistryServer, unique_repo: str) -> None:
    """The registry never parses config blobs, so broken dates can be pushed for real."""
    no_date = images.push_image(registry.url, unique_repo, "no-date", None)
    garbage = images.push_image(registry.url, unique_repo, "garbage", "yesterday")
    not_json = images.push_image(registry.url, unique_repo, "not-json", None, raw_config=b"\x00not json")
    assert len({no_date, garbage, not_json}) == 3
    manifest = get_manifest(registry.url, unique_repo, "garbage").json()
    assert config_created(registry.url, unique_repo, manifest) == "yesterday"
    manifest = get_manifest(registry.url, unique_repo, "not-json").json()
    blob = requests.get(f"{registry.url}/v2/{unique_repo}/blobs/{manifest['config']['digest']}", timeout=5)
    assert blob.content == b"\x00not json"


def test_malformed_manifests_are_refused(registry: RegistryServer, unique_repo: str) -> None:
    """2.8.2 validates manifests on PUT: malformed ones must be served through the proxy."""
    bad_json = images.push_raw_manifest(registry.url, unique_repo, "bad", b"{not json")
    assert bad_json.status_code == 400
    assert bad_json.json()["errors"][0]["code"] == "MANIFEST_INVALID"
    missing = {
        "schemaVersion": 2,
        "mediaType": images.DOCKER_MANIFEST,
        "config": {"mediaType": images.DOCKER_CONFIG, "size": 2, "digest": "sha256:" + "0" * 64},
        "layers": [],
    }
    missing_blob = images.push_raw_manifest(registry.url, unique_repo, "bad", images.canonical_json(missing))
    assert missing_blob.status_code == 400
    assert missing_blob.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    wrong_type = images.push_raw_manifest(
        registry.url, unique_repo, "bad", images.canonical_json(missing), media_type="application/json"
    )
    assert wrong_type.status_code == 400


def test_populate_sample_fleet(registry: RegistryServer, unique_repo: str) -> None:
    pushed = populate(registry.url, SAMPLE_FLEET, prefix=unique_repo + "/")
    assert set(pushed) == {f"{unique_repo}/{name}" for name in ("api", "worker", "auth", "web")}
    api = pushed[f"{unique_repo}/api"]
    assert api["latest"] == api["515-master"]
    for repo, tags in pushed.items():
        listed = requests.get(f"{registry.url}/v2/{repo}/tags/list", timeout=5).json()["tags"]
        assert sorted(listed) == sorted(tags)
        for tag, digest in tags.items():
            assert get_manifest(registry.url, repo, tag).headers["Docker-Content-Digest"] == digest
    worker_master_days = {r[1][:10] for r in SAMPLE_FLEET["worker"] if r[0].endswith("-master")}
    assert "2026-11-19" not in worker_master_days and "2026-11-18" in worker_master_days
