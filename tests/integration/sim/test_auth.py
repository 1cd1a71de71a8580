"""Contract: authentication modes and TLS (Marathon's `api/HttpModule.scala`,
`docs/docs/ssl-basic-access-authentication.md`; DC/OS Admin Router `lib/auth/common.lua`)."""
from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from .conftest import FakeClock, MakeSim

LOGIN = "/acs/api/v1/auth/login"


def test_basic_auth_guards_every_path_including_ping(make_sim: MakeSim,
                                                     http: requests.Session) -> None:
    """HttpModule.scala: Jetty's 401 (not JSON) with WWW-Authenticate basic realm."""
    sim = make_sim(auth=("ops", "s3cret"))
    for path in ("/ping", "/v2/apps", "/v2/info"):
        r = http.get(sim.url + path)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'basic realm="Mesosphere"'
        assert r.headers["Content-Type"].startswith("text/html")
        assert http.get(sim.url + path, auth=("ops", "wrong")).status_code == 401
        assert http.get(sim.url + path, auth=("ops", "s3cret")).status_code == 200
    assert http.get(f"{sim.url}/_sim/requests").status_code == 200  # control: no auth


def test_dcos_token_login_and_use(make_sim: MakeSim, http: requests.Session) -> None:
    """Admin Router: POST login {uid, password} -> {token}; then Authorization: token=<jwt>
    (Bearer and the dcos-acs-auth-cookie work too); Marathon under /service/marathon."""
    sim = make_sim(auth=("ops", "s3cret"), dcos=True)
    r = http.post(sim.url + LOGIN, json={"uid": "ops", "password": "s3cret"})
    assert r.status_code == 200 and set(r.json()) == {"token"}
    token = r.json()["token"]
    assert token.count(".") == 2  # shaped like a JWT
    for headers in ({"Authorization": f"token={token}"}, {"Authorization": f"Bearer {token}"},
                    {"Cookie": f"dcos-acs-auth-cookie={token}"}):
        r = http.get(f"{sim.url}/service/marathon/v2/apps", headers=headers)
        assert r.status_code == 200 and r.json()["apps"][0]["id"] == "/shop/prod/api"
    headers = {"Authorization": f"token={token}"}
    assert http.get(f"{sim.url}/v2/apps", headers=headers).status_code == 200
    assert http.get(f"{sim.url}/service/marathon/ping", headers=headers).text == "pong"


def test_dcos_401s_are_html_from_admin_router(make_sim: MakeSim, http: requests.Session) -> None:
    """Admin Router: missing or bad token -> 401 text/html, WWW-Authenticate: oauthjwt."""
    sim = make_sim(auth=("ops", "s3cret"), dcos=True)
    for headers in ({}, {"Authorization": "token=forged"}):
        r = http.get(f"{sim.url}/service/marathon/v2/apps", headers=headers)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "oauthjwt"
        assert r.headers["Content-Type"].startswith("text/html")


def test_dcos_bad_credentials(make_sim: MakeSim, http: requests.Session) -> None:
    """Admin Router: bad credentials -> 401 ERR_INVALID_CREDENTIALS, WWW-Authenticate acsjwt."""
    sim = make_sim(auth=("ops", "s3cret"), dcos=True)
    r = http.post(sim.url + LOGIN, json={"uid": "ops", "password": "nope"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "acsjwt"
    assert r.json()["code"] == "ERR_INVALID_CREDENTIALS"
    assert http.post(sim.url + LOGIN, json={"uid": "ops"}).status_code == 400


def test_dcos_tokens_expire(make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """Admin Router: a token has an exp; once past it, 401 until the client logs in again.
    POST /_sim/expire-tokens expires every token at once."""
    sim = make_sim(auth=("ops", "s3cret"), dcos=True, token_ttl=60)

    def login() -> dict[str, str]:
        r = http.post(sim.url + LOGIN, json={"uid": "ops", "password": "s3cret"})
        return {"Authorization": f"token={r.json()['token']}"}

    headers = login()
    clock.advance(59)
    assert http.get(f"{sim.url}/v2/apps", headers=headers).status_code == 200
    clock.advance(1)
    assert http.get(f"{sim.url}/v2/apps", headers=headers).status_code == 401
    headers = login()
    assert http.get(f"{sim.url}/v2/apps", headers=headers).status_code == 200
    assert http.post(f"{sim.url}/_sim/expire-tokens").status_code == 204
    assert http.get(f"{sim.url}/v2/apps", headers=headers).status_code == 401
    headers = login()
    sim.expire_tokens()
    assert http.get(f"{sim.url}/v2/apps", headers=headers).status_code == 401


def test_login_password_is_never_recorded(make_sim: MakeSim, http: requests.Session) -> None:
    sim = make_sim(auth=("ops", "s3cret"), dcos=True)
    http.post(sim.url + LOGIN, json={"uid": "ops", "password": "s3cret"})
    assert sim.requests[-1]["json"] == {"uid": "ops", "password": "<hidden>"}
    assert "s3cret" not in str(http.get(f"{sim.url}/_sim/requests").text)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls(make_sim: MakeSim, tmp_path: Path, http: requests.Session) -> None:
    """Admin Router: the docs advise basic auth over TLS; the simulator serves https."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    sim = make_sim(certfile=str(cert), keyfile=str(key), auth=("ops", "s3cret"))
    assert sim.url.startswith("https://127.0.0.1:")
    r = http.get(f"{sim.url}/v2/apps", auth=("ops", "s3cret"), verify=str(cert))
    assert r.status_code == 200 and r.headers["X-Marathon-Leader"] == sim.url
    with pytest.raises(requests.exceptions.SSLError):
        http.get(f"{sim.url}/ping", verify=True)
    port = int(sim.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)):  # silent: no TLS hello at all
        r = requests.get(f"{sim.url}/v2/apps", auth=("ops", "s3cret"), verify=str(cert),
                         timeout=5)
        assert r.status_code == 200  # the accept loop is not stuck on the silent client
