"""A small Bearer token server, as Docker Hub, Harbor, GHCR or ECR run in front of a registry.

Distribution's ``auth.token`` accepts ES256 JWTs whose ``x5c`` header carries a certificate
that chains to ``rootcertbundle``; ``iss`` must equal ``issuer`` and ``aud`` must equal
``service``; the ``access`` claim lists what the token allows.  The issuer answers the
realm request (``GET /token?service=..&scope=..`` with Basic credentials, or the OAuth2
``POST /token`` password grant) and refuses unknown credentials with 401.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Iterable, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from testbed import tls
from testbed.serving import Served


def b64url(data: bytes) -> str:
    """Base64url without padding, as JOSE wants it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def es256_sign(key: ec.EllipticCurvePrivateKey, signing_input: bytes) -> bytes:
    """ES256 signature in JOSE form: r and s as 32-byte big-endian integers, concatenated."""
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def parse_scope(scope: str) -> dict[str, object] | None:
    """``repository:ds/api:pull,push`` -> an ``access`` entry; None if it is not a scope."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not kind or not name:
        return None
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


class TokenIssuer(Served):
    """Issue registry Bearer tokens on 127.0.0.1; use as a context manager or start()/stop()."""

    thread_name = "token-issuer"

    def __init__(
        self,
        users: Mapping[str, str] | Iterable[tuple[str, str]] = (("ci", "s3cret-registry-pw"),),
        *,
        service: str = "testbed-registry",
        issuer: str = "testbed-token-issuer",
        expires_in: int = 300,
        anonymous_actions: Sequence[str] = (),
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        self.users: dict[str, str] = dict(users.items() if isinstance(users, Mapping) else users)
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in
        #: Actions granted without credentials (Docker Hub grants "pull"); none by default.
        self.anonymous_actions = tuple(anonymous_actions)
        self._own_dir = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="testbed-token-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._own_dir:
            weakref.finalize(self, shutil.rmtree, str(self.directory), ignore_errors=True)
        ca = tls.make_ca("testbed token CA")
        self._signer = tls.issue_cert(ca, "testbed token signer", server=False)
        self._x5c = [base64.b64encode(self._signer.cert.public_bytes(serialization.Encoding.DER)).decode()]
        #: CA bundle for the registry's ``auth.token.rootcertbundle``.
        self.rootcertbundle = str(self.directory / "token-ca.pem")
        Path(self.rootcertbundle).write_bytes(tls.cert_pem(ca.cert))
        self._lock = threading.Lock()
        #: Every token request: dicts with user, scopes, status (for tests on token caching).
        self.requests: list[dict[str, object]] = []

    # -- lifecycle -------------------------------------------------------------------------

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)  # stopping leaves the certificate files until the issuer is collected

    @property
    def realm(self) -> str:
        """The realm URL for the registry's ``auth.token.realm``."""
        return self.url + "/token"

    @property
    def token_count(self) -> int:
        """How many tokens were issued (status 200)."""
        with self._lock:
            return sum(1 for r in self.requests if r["status"] == 200)

    def registry_auth_config(self) -> dict[str, str]:
        """The ``auth.token`` section of a registry config."""
        return {
            "realm": self.realm,
            "service": self.service,
            "issuer": self.issuer,
            "rootcertbundle": self.rootcertbundle,
        }

    # -- tokens ----------------------------------------------------------------------------

    def make_token(
        self,
        access: Sequence[Mapping[str, object]],
        *,
        subject: str = "",
        expires_in: int | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> str:
        """Sign a JWT for ``access``; tests may forge wrong audiences or issuers with it."""
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": self._x5c}
        claims = {
            "iss": issuer or self.issuer,
            "sub": subject,
            "aud": audience or self.service,
            "exp": now + (self.expires_in if expires_in is None else expires_in),
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": [dict(a) for a in access],
        }
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        return signing_input + "." + b64url(es256_sign(self._signer.key, signing_input.encode()))

    def _grant(self, user: str | None, scopes: Sequence[str]) -> list[dict[str, object]]:
        access = []
        for scope in scopes:
            for part in scope.split(" "):
                entry = parse_scope(part)
                if entry is None:
                    continue
                if user is None:
                    actions = entry["actions"]
                    assert isinstance(actions, list)
                    entry["actions"] = [a for a in actions if a in self.anonymous_actions]
                access.append(entry)
        return access

    def _record(self, user: str | None, scopes: Sequence[str], status: int) -> None:
        with self._lock:
            self.requests.append({"user": user, "scopes": list(scopes), "status": status})


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _make_handler(issuer: TokenIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One buffered write per response and no Nagle: avoids 40 ms delayed-ACK stalls.
        wbufsize = -1
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            pass

        def _send_json(
            self, status: int, payload: Mapping[str, object], headers: Mapping[str, str] = {}
        ) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _issue(self, user: str | None, password: str | None, scopes: list[str], *, oauth: bool) -> None:
            if user is not None and issuer.users.get(user) != password:
                issuer._record(user, scopes, 401)
                self._send_json(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password"}]},
                    {"WWW-Authenticate": 'Basic realm="testbed token issuer"'},
                )
                return
            if user is None and not issuer.anonymous_actions:
                issuer._record(None, scopes, 401)
                self._send_json(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                    {"WWW-Authenticate": 'Basic realm="testbed token issuer"'},
                )
                return
            token = issuer.make_token(issuer._grant(user, scopes), subject=user or "")
            issuer._record(user, scopes, 200)
            payload: dict[str, object] = {
                "token": token,
                "access_token": token,
                "expires_in": issuer.expires_in,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            if oauth:
                payload["scope"] = " ".join(scopes)
            self._send_json(200, payload)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/token":
                self._send_json(404, {"errors": [{"code": "NOT_FOUND", "message": parts.path}]})
                return
            query = parse_qs(parts.query)
            service = query.get("service", [""])[0]
            if service and service != issuer.service:
                self._send_json(
                    400, {"errors": [{"code": "DENIED", "message": f"unknown service {service!r}"}]}
                )
                return
            creds = _basic_credentials(self.headers.get("Authorization"))
            if self.headers.get("Authorization") and creds is None:
                issuer._record("<malformed>", query.get("scope", []), 401)
                self._send_json(
                    401, {"errors": [{"code": "UNAUTHORIZED", "message": "malformed credentials"}]}
                )
                return
            user, password = creds if creds else (None, None)
            self._issue(user, password, query.get("scope", []), oauth=False)

        def do_POST(self) -> None:
            """OAuth2 password grant, which docker login uses when the realm supports it."""
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            if urlsplit(self.path).path != "/token" or form.get("grant_type", [""])[0] != "password":
                self._send_json(404, {"error": "unsupported_grant_type"})
                return
            scopes = form.get("scope", [])
            self._issue(form.get("username", [""])[0], form.get("password", [""])[0], scopes, oauth=True)

    return Handler
