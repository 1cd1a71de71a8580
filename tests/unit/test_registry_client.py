"""The registry client's narrow edges (`responses`): Link pagination, loops, manifest media types,
malformed manifests, registry errors. Against the real registry (Debian's docker-registry):
tests/integration/test_registry_client.py."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
import requests
import responses

from fleetrewind.directread import DirectReads
from fleetrewind.errors import AuthError, RegistryError
from fleetrewind.registry.client import (
    ACCEPT,
    MalformedManifest,
    RegistryClient,
    UnknownRepository,
    _next_link,
)
from fleetrewind.secret import Secret
from fleetrewind.registry.auth import RegistryCredentials
from fleetrewind.session import make_session
from fleetrewind.transport import TLS, Transport
from testbed.images import DOCKER_MANIFEST


UTC = dt.timezone.utc


def client_for(url: str, *, auth: tuple[str, str] | None = None, platform: str = "linux/amd64",
               tls: TLS = TLS(), retries: int = 3, direct: bool = False) -> RegistryClient:
    """A client whose retries do not sleep (backoff 0), so fault tests stay fast; ``direct``: with the
    direct reads ``get`` uses (fleetrewind/directread.py), else everything through the transport."""
    credentials = RegistryCredentials(user=auth[0], password=Secret(auth[1])) if auth else None
    transport = Transport(url, tls=tls, session=make_session(backoff=0, retries=retries), name="registry")
    return RegistryClient(transport, credentials=credentials, platform=platform,
                          reads=DirectReads(transport) if direct else None)


def one_line_error(result) -> str:
    """The single ``error:`` line of a failed run (it must be the last line on stderr)."""
    errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.err
    assert result.err.splitlines()[-1] == errors[0]
    assert "Traceback" not in result.err
    return errors[0]


BASE = "https://registry.test"


def _response(link: str | None, url: str = f"{BASE}/v2/api/tags/list") -> requests.Response:
    resp = requests.Response()
    resp.status_code = 200
    resp.url = url
    if link is not None:
        resp.headers["Link"] = link
    return resp


@pytest.mark.parametrize("link, expected", [
    (None, None),
    ("", None),
    ('</v2/api/tags/list?n=2&last=b>; rel="next"', f"{BASE}/v2/api/tags/list?n=2&last=b"),
    ('<https://cdn.test/v2/api/tags/list?last=b>; rel="next"', "https://cdn.test/v2/api/tags/list?last=b"),
    ("</v2/api/tags/list?last=b>; rel=next", f"{BASE}/v2/api/tags/list?last=b"),
    ('</v2/api/tags/list?last=b>;rel="next"', f"{BASE}/v2/api/tags/list?last=b"),
    ('</v2/api/tags/list?last=a>; rel="prev", </v2/api/tags/list?last=c>; rel="next"',
     f"{BASE}/v2/api/tags/list?last=c"),
    ('</v2/api/tags/list?last=a>; rel="prev"', None),
    # a reference relative to the page, as RFC 8288 resolves it (against the request URL)
    ('<list?n=2&last=b>; rel="next"', f"{BASE}/v2/api/tags/list?n=2&last=b"),
    ('<?n=2&last=b>; rel="next"', f"{BASE}/v2/api/tags/list?n=2&last=b"),
])
def test_next_link(link: str | None, expected: str | None) -> None:
    assert _next_link(_response(link), BASE) == expected


@responses.activate
def test_list_tags_follows_pages_and_sends_no_bogus_params() -> None:
    url = f"{BASE}/v2/api/tags/list"
    responses.get(url, json={"name": "api", "tags": ["b", "a"]},
                  headers={"Link": '</v2/api/tags/list?n=2&last=b>; rel="next"'},
                  match=[responses.matchers.query_param_matcher({"n": "1000"})])
    responses.get(url, json={"name": "api", "tags": ["c"]},
                  match=[responses.matchers.query_param_matcher({"n": "2", "last": "b"})])
    assert client_for(BASE).list_tags("api") == ["b", "a", "c"]


@responses.activate
def test_list_tags_refuses_a_link_loop() -> None:
    url = f"{BASE}/v2/api/tags/list"
    responses.get(url, json={"tags": ["a"]}, headers={"Link": '</v2/api/tags/list?last=a>; rel="next"'})
    with pytest.raises(RegistryError, match="tag pages for api loop back on themselves"):
        client_for(BASE).list_tags("api")


@responses.activate
def test_manifests_are_asked_for_with_all_five_media_types() -> None:
    responses.get(f"{BASE}/v2/api/manifests/1-master", body=b"{not json",
                  content_type=DOCKER_MANIFEST)
    with pytest.raises(MalformedManifest):
        client_for(BASE).image_date("api", "1-master")
    accept = responses.calls[0].request.headers["Accept"]
    assert accept == ACCEPT
    for media_type in ("application/vnd.oci.image.index.v1+json",
                       "application/vnd.docker.distribution.manifest.list.v2+json",
                       "application/vnd.oci.image.manifest.v1+json",
                       "application/vnd.docker.distribution.manifest.v2+json",
                       "application/vnd.docker.distribution.manifest.v1+prettyjws"):
        assert media_type in accept


@pytest.mark.parametrize("body, content_type, message", [
    (b"{not json", DOCKER_MANIFEST, "manifest api:1-master is not valid JSON; fix or delete that tag in the registry"),
    (b'["a", "list"]', DOCKER_MANIFEST, "manifest api:1-master is not valid JSON"),
    (b'{"schemaVersion": 2, "config": {"size": 3}}', DOCKER_MANIFEST, "api:1-master: manifest has no config digest"),
    (b'{"schemaVersion": 2, "layers": []}', "application/vnd.example.thing+json",
     "api:1-master: unsupported manifest type 'application/vnd.example.thing+json'"),
    (b'{"schemaVersion": 1, "history": []}', "application/vnd.docker.distribution.manifest.v1+prettyjws",
     "api:1-master: schema 1 manifest without history"),
    (b'{"schemaVersion": 1, "history": [{"v1Compatibility": "{oops"}]}',
     "application/vnd.docker.distribution.manifest.v1+prettyjws", "schema 1 history entry is not readable"),
    (b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}',
     "application/vnd.oci.image.index.v1+json", "api:1-master: manifest list without 'manifests'"),
])
@responses.activate
def test_malformed_manifests(body: bytes, content_type: str, message: str) -> None:
    responses.get(f"{BASE}/v2/api/manifests/1-master", body=body, content_type=content_type)
    with pytest.raises(MalformedManifest) as caught:
        client_for(BASE).image_date("api", "1-master")
    assert message in str(caught.value)
    assert caught.value.exit_code == 1


@responses.activate
def test_schema1_takes_the_newest_history_entry() -> None:
    history = [{"v1Compatibility": json.dumps({"created": c})} for c in
               ("2026-11-17T10:00:00Z", "2026-11-19T10:00:00.5Z", "2026-10-01T00:00:00Z")]
    body = json.dumps({"schemaVersion": 1, "history": history}).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    responses.get(f"{BASE}/v2/api/manifests/1-master", body=body,
                  content_type="application/vnd.docker.distribution.manifest.v1+prettyjws",
                  headers={"Docker-Content-Digest": digest})
    got = client_for(BASE).image_date("api", "1-master")
    assert got.created == dt.datetime(2026, 11, 19, 10, 0, 0, 500000, tzinfo=UTC)
    assert got.digest == digest


@responses.activate
def test_a_list_nested_in_a_list_is_refused() -> None:
    def index_of(digest: str) -> bytes:
        return json.dumps({"schemaVersion": 2, "manifests": [
            {"digest": digest, "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()

    inner = index_of("sha256:" + "c" * 64)
    child = "sha256:" + hashlib.sha256(inner).hexdigest()
    responses.get(f"{BASE}/v2/api/manifests/1-master", body=index_of(child),
                  content_type="application/vnd.oci.image.index.v1+json")
    responses.get(f"{BASE}/v2/api/manifests/{child}", body=inner, content_type="application/vnd.oci.image.index.v1+json")
    with pytest.raises(MalformedManifest, match="nested in a manifest list"):
        client_for(BASE).image_date("api", "1-master")


@responses.activate
def test_name_unknown_is_a_usage_error_naming_the_repository() -> None:
    responses.get(f"{BASE}/v2/nope/tags/list", status=404,
                  json={"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known to registry"}]})
    with pytest.raises(UnknownRepository) as caught:
        client_for(BASE).list_tags("nope")
    assert caught.value.exit_code == 2
    assert str(caught.value) == f"repository 'nope' does not exist in registry {BASE}; check --repo"


@responses.activate
def test_name_unknown_through_the_cli_exits_2(cli, tmp_path: Path) -> None:
    responses.get(f"{BASE}/v2/nope/tags/list", status=404, json={"errors": [{"code": "NAME_UNKNOWN"}]})
    result = cli("get", "--repo=nope", "--env=prod", f"--registry={BASE}", f"--dump={tmp_path}", "--no-cache")
    assert result.code == 2
    assert one_line_error(result) == f"error: repository 'nope' does not exist in registry {BASE}; check --repo"


@pytest.mark.parametrize("status, body, error, message", [
    (404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]}, RegistryError, "disappeared while being read"),
    (403, {"errors": [{"code": "DENIED"}]}, AuthError, "denies access to api (HTTP 403); ask for pull rights"),
    (400, {"errors": [{"code": "TAG_INVALID"}]}, RegistryError, "registry answered HTTP 400 (TAG_INVALID)"),
])
@responses.activate
def test_other_registry_errors(status: int, body: dict, error: type, message: str) -> None:
    responses.get(f"{BASE}/v2/api/manifests/1-master", status=status, json=body)
    with pytest.raises(error) as caught:
        client_for(BASE).image_date("api", "1-master")
    assert message in str(caught.value)


@responses.activate
def test_a_token_service_without_a_token() -> None:
    responses.get(f"{BASE}/v2/api/tags/list", status=401,
                  headers={"WWW-Authenticate": f'Bearer realm="{BASE}/token",service="reg"'})
    responses.get(f"{BASE}/token", json={"nothing": "here"})
    with pytest.raises(AuthError, match="answered without a token"):
        client_for(BASE, auth=("ci", "pw")).list_tags("api")
    token_request = responses.calls[1].request
    assert "scope=repository%3Aapi%3Apull" in token_request.url
    assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(b"ci:pw").decode()
