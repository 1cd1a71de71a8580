"""Authentication modes (Marathon's `api/HttpModule.scala`;
DC/OS Admin Router's `lib/auth/common.lua`): none, HTTP Basic, and DC/OS tokens.

Each authenticator's `challenge(path, headers)` (header names in lower case) returns None to
let a request through, or the 401 Reply the real front end would send (Jetty for Basic,
Admin Router for DC/OS).
"""
from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
from typing import Any, Mapping, Protocol

from .clock import Clock
from .replies import Reply

DCOS_LOGIN_PATH = "/acs/api/v1/auth/login"
DCOS_TOKEN_TTL = 5 * 24 * 3600.0  # DC/OS open source: tokens live 5 days

_JETTY_401 = ("<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;"
              "charset=ISO-8859-1\"/>\n<title>Error 401 Unauthorized</title>\n</head>\n"
              "<body><h2>HTTP ERROR 401</h2>\n<p>Problem accessing {path}. Reason:\n"
              "<pre>    Unauthorized</pre></p>\n</body>\n</html>\n")
_ADMIN_ROUTER_401 = ("<html>\n<head><title>401 Authorization Required</title></head>\n"
                     "<body>\n<center><h1>401 Authorization Required</h1></center>\n"
                     "</body>\n</html>\n")


class Authenticator(Protocol):
    def challenge(self, path: str, headers: Mapping[str, str]) -> Reply | None: ...


class NoAuth:
    def challenge(self, path: str, headers: Mapping[str, str]) -> Reply | None:
        return None


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class BasicAuth:
    """--http_credentials: every path, /ping included, needs the one user's credentials."""

    def __init__(self, user: str, password: str, realm: str = "Mesosphere") -> None:
        self._user, self._password, self.realm = user, password, realm

    def challenge(self, path: str, headers: Mapping[str, str]) -> Reply | None:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            if _same(user, self._user) and _same(password, self._password):
                return None
        return Reply(401, _JETTY_401.format(path=path),
                     {"WWW-Authenticate": f'basic realm="{self.realm}"'},
                     content_type="text/html;charset=iso-8859-1")


class DcosAuth:
    """Admin Router: log in at /acs/api/v1/auth/login, then `Authorization: token=<jwt>`."""

    def __init__(self, clock: Clock, user: str | None = None, password: str | None = None,
                 ttl: float = DCOS_TOKEN_TTL, challenge_scheme: str = "oauthjwt") -> None:
        self._clock = clock
        self._user, self._password = user, password
        self.ttl = ttl
        self.challenge_scheme = challenge_scheme
        self._tokens: dict[str, float] = {}  # token -> expiry
        self._lock = threading.Lock()

    def login(self, body: Any) -> Reply:
        if not (isinstance(body, dict) and isinstance(body.get("uid"), str)
                and isinstance(body.get("password"), str)):
            return Reply(400, {"title": "Bad request", "code": "ERR_INVALID_DATA",
                               "description": "Request has bad JSON data: uid and password "
                                              "are required"})
        if self._user is not None and not (_same(body["uid"], self._user)
                                           and _same(body["password"], self._password or "")):
            return Reply(401, {"title": "Authentication error", "code": "ERR_INVALID_CREDENTIALS",
                               "description": "Invalid credentials"},
                         {"WWW-Authenticate": "acsjwt"})
        expiry = self._clock() + self.ttl
        token = ".".join(_b64(part) for part in (
            json.dumps({"alg": "RS256", "kid": "marathonsim", "typ": "JWT"}).encode(),
            json.dumps({"uid": body["uid"], "exp": int(expiry)}).encode(),
            secrets.token_bytes(32)))
        with self._lock:
            self._tokens[token] = expiry
        return Reply(200, {"token": token})

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()

    def challenge(self, path: str, headers: Mapping[str, str]) -> Reply | None:
        token = _token_from(headers)
        with self._lock:
            expiry = self._tokens.get(token or "")
        if expiry is not None and self._clock() < expiry:
            return None
        return Reply(401, _ADMIN_ROUTER_401, {"WWW-Authenticate": self.challenge_scheme},
                     content_type="text/html")


def _token_from(headers: Mapping[str, str]) -> str | None:
    """`token=<jwt>`, `Bearer <jwt>`, or the dcos-acs-auth-cookie cookie (Admin Router)."""
    value = headers.get("authorization", "")
    if value.startswith("token="):
        return value[len("token="):]
    if value.lower().startswith("bearer "):
        return value[len("bearer "):]
    for part in headers.get("cookie", "").split(";"):
        name, _, cookie = part.strip().partition("=")
        if name == "dcos-acs-auth-cookie":
            return cookie
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
