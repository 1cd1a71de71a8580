"""Basic auth, Bearer token auth and TLS against the real registry."""

from __future__ import annotations

import os
import re

import pytest
import requests

from testbed import images
from testbed.registry_server import RegistryServer
from testbed.token_issuer import TokenIssuer


def test_basic_auth_401_then_200(registry_basic: RegistryServer, unique_repo: str) -> None:
    anonymous = requests.get(registry_basic.url + "/v2/", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
    wrong = requests.get(registry_basic.url + "/v2/", auth=("ci", "wrong"), timeout=5)
    assert wrong.status_code == 401
    assert requests.get(registry_basic.url + "/v2/", auth=registry_basic.auth, timeout=5).status_code == 200
    digest = images.push_image(
        registry_basic.url, unique_repo, "1-master", "2026-11-17T09:00:00Z", auth=registry_basic.auth
    )
    head = requests.head(
        f"{registry_basic.url}/v2/{unique_repo}/manifests/1-master",
        headers={"Accept": images.ACCEPT_ALL},
        auth=registry_basic.auth,
        timeout=5,
    )
    assert head.headers["Docker-Content-Digest"] == digest


def test_token_flow_with_raw_requests(registry_token: RegistryServer, unique_repo: str) -> None:
    images.push_image(
        registry_token.url, unique_repo, "1-master", "2026-11-17T09:00:00Z", auth=registry_token.auth
    )
    url = f"{registry_token.url}/v2/{unique_repo}/tags/list"
    challenge = requests.get(url, timeout=5)
    assert challenge.status_code == 401
    header = challenge.headers["WWW-Authenticate"]
    assert header.startswith("Bearer ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', header))
    issuer = registry_token.token_auth
    assert issuer is not None
    assert params["realm"] == issuer.realm
    assert params["service"] == issuer.service
    assert params["scope"] == f"repository:{unique_repo}:pull"

    refused = requests.get(
        params["realm"],
        params={"service": params["service"], "scope": params["scope"]},
        auth=("ci", "nope"),
        timeout=5,
    )
    assert refused.status_code == 401
    anonymous = requests.get(
        params["realm"], params={"service": params["service"], "scope": params["scope"]}, timeout=5
    )
    assert anonymous.status_code == 401

    granted = requests.get(
        params["realm"],
        params={"service": params["service"], "scope": params["scope"]},
        auth=registry_token.auth,
        timeout=5,
    )
    assert granted.status_code == 200
    token = granted.json()["token"]
    assert granted.json()["access_token"] == token
    listed = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert listed.status_code == 200, listed.text
    assert listed.json()["tags"] == ["1-master"]

    # A pull token does not allow pushing; a token for another repo does not allow reading.
    push = requests.post(
        f"{registry_token.url}/v2/{unique_repo}/blobs/uploads/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert push.status_code == 401
    assert 'error="insufficient_scope"' in push.headers["WWW-Authenticate"]
    other = issuer.make_token([{"type": "repository", "name": "someone/else", "actions": ["pull"]}])
    assert requests.get(url, headers={"Authorization": f"Bearer {other}"}, timeout=5).status_code == 401


def test_forged_tokens_are_refused(registry_token: RegistryServer, unique_repo: str) -> None:
    issuer = registry_token.token_auth
    assert issuer is not None
    access = [{"type": "repository", "name": unique_repo, "actions": ["pull"]}]
    url = f"{registry_token.url}/v2/{unique_repo}/tags/list"
    for token in (
        issuer.make_token(access, audience="other-service"),
        issuer.make_token(access, issuer="other-issuer"),
        issuer.make_token(access, expires_in=-3600),
        TokenIssuer().make_token(access),  # signed by a CA the registry does not trust
    ):
        response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert response.status_code == 401


def test_token_issuer_oauth_password_grant(registry_token: RegistryServer) -> None:
    issuer = registry_token.token_auth
    assert issuer is not None
    user, password = registry_token.auth or ("", "")
    form = {
        "grant_type": "password",
        "username": user,
        "password": password,
        "service": issuer.service,
        "scope": "registry:catalog:*",
    }
    response = requests.post(issuer.realm, data=form, timeout=5)
    assert response.status_code == 200
    token = response.json()["access_token"]
    catalog = requests.get(
        registry_token.url + "/v2/_catalog", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert catalog.status_code == 200
    assert requests.post(issuer.realm, data={**form, "password": "x"}, timeout=5).status_code == 401


def test_tls_with_ca_bundle(registry_tls: RegistryServer, unique_repo: str) -> None:
    assert registry_tls.url.startswith("https://127.0.0.1:")
    assert registry_tls.ca_bundle and os.path.exists(registry_tls.ca_bundle)
    # REQUESTS_CA_BUNDLE may be set (it is on these machines): verify= per request wins over it.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(registry_tls.url + "/v2/", verify=True, timeout=5)
    assert (
        requests.get(registry_tls.url + "/v2/", verify=registry_tls.ca_bundle, timeout=5).status_code == 200
    )
    localhost = registry_tls.url.replace("127.0.0.1", "localhost")
    assert requests.get(localhost + "/v2/", verify=registry_tls.ca_bundle, timeout=5).status_code == 200
    digest = images.push_image(
        registry_tls.url,
        unique_repo,
        "1-master",
        "2026-11-17T09:00:00Z",
        kind="index",
        verify=registry_tls.ca_bundle,
    )
    assert digest.startswith("sha256:")


def test_session_verify_is_overridden_by_environment(
    registry_tls: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With trust_env, REQUESTS_CA_BUNDLE beats Session.verify (requests/sessions.py, merge_environment_settings)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = requests.Session()
    session.verify = registry_tls.ca_bundle
    with pytest.raises(requests.exceptions.SSLError):
        session.get(registry_tls.url + "/v2/", timeout=5)
    session.trust_env = False
    assert session.get(registry_tls.url + "/v2/", timeout=5).status_code == 200
