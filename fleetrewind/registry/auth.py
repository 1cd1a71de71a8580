"""Registry authentication: anonymous, Basic, and the Bearer token challenge (RFC 6750 style).

Docker Hub, Harbor, GHCR and ECR answer 401 with ``WWW-Authenticate: Bearer realm=...,
service=...,scope=...``; the client asks the realm for a token with its credentials and
sends it as ``Authorization: Bearer``. Tokens are kept per scope.
"""

from __future__ import annotations

import base64
import re
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..errors import AuthError, UsageError
from ..secret import Secret, shorten
from ..transport import Transport
from ..inputs import loads, read_text



@dataclass(frozen=True, kw_only=True)
class RegistryCredentials:
    """A registry user and password (REGISTRY_USER/REGISTRY_PASSWORD or docker's config.json)."""

    user: str
    password: Secret

_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="x",service="y"`` -> ("bearer", {"realm": "x", "service": "y"})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_PARAM_RE.findall(rest))


def credentials_from_docker_config(path: Path | None, registry_url: str) -> RegistryCredentials | None:
    """Look the registry's host up in a docker ``config.json`` ``auths`` section."""
    if path is None or not path.is_file():
        return None
    try:
        data = loads(read_text(path))
    except (OSError, ValueError):
        raise UsageError(f"docker config {path} is not readable JSON; fix it or set REGISTRY_USER/REGISTRY_PASSWORD") from None
    host = urllib.parse.urlsplit(registry_url).netloc.rpartition("@")[2]
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return None
    _check_auths(path, auths)
    _register_auths(auths)
    for key, entry in auths.items():
        key_host = urllib.parse.urlsplit(key if "://" in key else "//" + key).netloc
        if key_host != host or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, colon, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                colon = ""
            if not colon:  # undecodable, or no user:password (the "user" would be the password)
                raise UsageError(f"docker config {path}: the auth entry for {host} is not valid base64 user:password")
            return RegistryCredentials(user=user, password=Secret(password, "the docker config password"))
        if entry.get("username") and entry.get("password"):
            return RegistryCredentials(user=entry["username"],
                                       password=Secret(entry["password"], "the docker config password"))
    return None


CREDENTIAL_FIELDS = ("auth", "username", "password", "identitytoken", "registrytoken")


def _check_auths(path: Path, auths: dict[str, object]) -> None:
    """The file is input: each ``auths`` entry is a mapping whose credential fields are strings."""
    for key, entry in auths.items():
        fields = entry if isinstance(entry, dict) else {}
        wrong = [f for f in CREDENTIAL_FIELDS if f in fields and not isinstance(fields[f], str)]
        if not isinstance(entry, dict) or wrong:
            what = f"'{wrong[0]}' is not a string" if wrong else "it is not a mapping"
            raise UsageError(f"docker config {path}: the entry for {shorten(key, 60)} is unusable ({what}); "
                             "fix it or set REGISTRY_USER/REGISTRY_PASSWORD")


def _register_auths(auths: dict[str, object]) -> None:
    """Every credential in the file is a secret, also those of other registries: none may be printed."""
    for entry in auths.values():
        if not isinstance(entry, dict):
            continue
        for field in ("auth", "password", "identitytoken", "registrytoken"):
            if isinstance(entry.get(field), str) and entry[field]:
                Secret(entry[field], "a docker config credential")
        if isinstance(entry.get("auth"), str):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            if password:
                Secret(password, "a docker config password")


class RegistryAuth:
    """Remembers how the registry wants to be spoken to, and the tokens it gave out."""

    def __init__(self, transport: Transport, credentials: RegistryCredentials | None) -> None:
        self.transport = transport
        self.credentials = credentials
        self._lock = threading.Lock()
        self._scheme: str | None = None
        self._tokens: dict[str, str] = {}

    def headers(self, scope: str) -> dict[str, str]:
        """Authorization headers to send up front, once the registry's scheme is known."""
        with self._lock:
            if self._scheme == "basic" and self.credentials:
                return {"Authorization": "Basic " + self._basic()}
            token = self._tokens.get(scope)
        return {"Authorization": "Bearer " + token} if token else {}

    def _basic(self) -> str:
        assert self.credentials is not None
        raw = f"{self.credentials.user}:{self.credentials.password.reveal()}".encode("utf-8")
        return base64.b64encode(raw).decode("ascii")

    def answer_challenge(self, header: str | None, scope: str) -> None:
        """Prepare credentials for a 401's challenge; raise AuthError when there is nothing to try."""
        scheme, params = parse_challenge(header or "")
        if scheme == "basic":
            if not self.credentials:
                raise AuthError(
                    f"registry {self.transport.display_url} requires a login: set REGISTRY_USER and "
                    "REGISTRY_PASSWORD (or docker login)"
                )
            with self._lock:
                self._scheme = "basic"
            return
        if scheme == "bearer" and params.get("realm"):
            token = self._fetch_token(params, scope)
            with self._lock:
                self._scheme = "bearer"
                self._tokens[scope] = token
            return
        raise AuthError(f"registry {self.transport.display_url} refused access and offered no usable login ({scheme or 'no challenge'})")

    def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        query = {"service": params.get("service", "")}
        query["scope"] = params.get("scope") or scope
        headers = {"Authorization": "Basic " + self._basic()} if self.credentials else {}
        # The token service may live elsewhere (auth.docker.io for Docker Hub): another origin is
        # allowed for it, a weaker scheme is not (Transport.check_credentials_target).
        resp = self.transport.request("GET", params["realm"], params=query, headers=headers, other_origin_ok=True)
        if resp.status_code in (401, 403):
            who = f"user {self.credentials.user!r}" if self.credentials else "anonymous access"
            raise AuthError(
                f"the registry's token service refused {who} (HTTP {resp.status_code}); "
                "check REGISTRY_USER/REGISTRY_PASSWORD"
            )
        if resp.status_code != 200:
            raise AuthError(f"the registry's token service answered HTTP {resp.status_code}; try again later")
        try:
            body = loads(resp.content)
            token = body.get("token") or body.get("access_token")
        except ValueError:
            token = None
        if not isinstance(token, str) or not token:
            raise AuthError("the registry's token service answered without a token")
        return token
