"""Docker registry client (HTTP API v2): the only code that talks to a registry.

What it answers: the tags of a repository (following ``Link: rel="next"`` pages), and when an
image under a tag was created (from the config blob, a manifest list's platform child, or a
schema 1 manifest's history). It never trusts the order of a tag list.
"""

from __future__ import annotations

import datetime as dt
import base64
import binascii
import hashlib
import urllib.parse
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from ..errors import AuthError, RegistryError, UnreachableError, UsageError
from .auth import RegistryAuth, RegistryCredentials
from ..instants import read_instant
from ..secret import shorten
from ..http_answers import HTTPAnswer
from ..transport import CredentialsRefused, Transport, sanitize_url
from ..inputs import loads


MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MT_DOCKER_V1 = "application/vnd.docker.distribution.manifest.v1+json"
# All five kinds, always: with requests' default */* the registry would convert schema 2 to a
# signed schema 1 (another digest) and answer 404 for OCI manifests and indexes.
ACCEPT = ", ".join([MT_OCI_INDEX, MT_DOCKER_LIST, MT_OCI_MANIFEST, MT_DOCKER_V2, MT_DOCKER_V1_SIGNED])
LISTS = (MT_OCI_INDEX, MT_DOCKER_LIST)
SINGLE = (MT_OCI_MANIFEST, MT_DOCKER_V2)
SCHEMA1 = (MT_DOCKER_V1_SIGNED, MT_DOCKER_V1)


class UnknownRepository(RegistryError):
    """The registry does not know a repository named on the command line (bad input: exit 2)."""

    exit_code = UsageError.exit_code


class MalformedManifest(RegistryError):
    """A manifest or config blob the tool cannot read a date from."""


# A manifest or manifest list as the registry sends it (the registry HTTP API spec's image manifest
# formats); read field by field, with each field's type checked where it is used.
Manifest = dict[str, Any]


class DigestMismatch(RegistryError):
    """The registry's bytes do not have the digest it claims (or that was asked for): nothing is written."""


MAX_TAG_PAGES = 1000  # 1000 pages of n=1000: a million tags, far beyond any real repository


@dataclass(frozen=True)
class ImageDate:
    digest: str
    created: dt.datetime


def parse_created(value: object, where: str) -> dt.datetime:
    """An RFC 3339 time, nanoseconds allowed, as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise MalformedManifest(f"{where} has no 'created' time")
    parsed = read_instant(value)
    if parsed is None:
        raise MalformedManifest(f"{where} has an unreadable 'created' time {shorten(value, 60)} "
                                "(years 1970-8999 are accepted); fix or delete that tag in the registry")
    return parsed


class Reads(Protocol):
    """How tag pages, manifests and blobs are read: the transport itself, or directread.DirectReads over it."""

    def read(self, path: str, *, headers: Mapping[str, str]) -> HTTPAnswer: ...

    def close(self) -> None: ...


class RegistryClient:
    def __init__(self, transport: Transport, *, credentials: RegistryCredentials | None = None,
                 platform: str = "linux/amd64", reads: Reads | None = None) -> None:
        self.transport = transport
        self.reads: Reads = reads or transport
        self.auth = RegistryAuth(transport, credentials)
        self.platform = platform
        self.requests_made = 0

    def close(self) -> None:
        if self.reads is not self.transport:
            self.reads.close()
        self.transport.close()

    # -- low level ---------------------------------------------------------------------------
    def _get(self, repo: str, path: str, *, headers: dict[str, str] | None = None) -> HTTPAnswer:
        """One read through ``reads`` with the repository's credentials, once more after a 401's challenge
        is answered. ``path`` is the registry's own, or a next page's whole URL (checked by the caller)."""
        scope = f"repository:{repo}:pull"
        for attempt in (1, 2):
            sent = dict(headers or {})
            sent.update(self.auth.headers(scope))
            resp = self.reads.read(path, headers=sent)
            self.requests_made += 1
            if resp.status_code != 401:
                return resp
            if attempt == 2:
                break
            self.auth.answer_challenge(resp.headers.get("WWW-Authenticate"), scope)
        raise AuthError(
            f"registry {self.transport.display_url} refused the credentials for {repo} (HTTP 401); "
            "check REGISTRY_USER/REGISTRY_PASSWORD or your docker login"
        )

    def _check(self, resp: HTTPAnswer, what: str, repo: str) -> None:
        if resp.status_code == 200:
            return
        codes = _error_codes(resp)
        if resp.status_code == 404 and "NAME_UNKNOWN" in codes:
            raise UnknownRepository(
                f"repository {repo!r} does not exist in registry {self.transport.display_url}; check --repo"
            )
        if resp.status_code == 403:
            raise AuthError(f"registry {self.transport.display_url} denies access to {repo} (HTTP 403); "
                            "ask for pull rights on it")
        if resp.status_code in (429,) or resp.status_code >= 500:
            raise UnreachableError(
                f"registry {self.transport.display_url} kept failing on {what} (HTTP {resp.status_code}) "
                "after retries; try again later"
            )
        detail = f" ({', '.join(codes)})" if codes else ""
        raise RegistryError(f"registry answered HTTP {resp.status_code}{detail} for {what}")

    # -- tags --------------------------------------------------------------------------------
    def list_tags(self, repo: str) -> list[str]:
        """Every tag of ``repo``, across ``Link: rel="next"`` pages (relative or absolute).

        Bounded against a hostile registry: at most MAX_TAG_PAGES pages, a page seen before (by
        URL or by content under a new cursor) stops the listing, and a page at another origin
        (scheme, host, port) is never asked for: the credentials would go with it.
        """
        path: str | None = f"/v2/{repo}/tags/list?n=1000"
        tags: list[str] = []
        seen_pages: set[str] = set()
        seen_contents: set[tuple[str, ...]] = set()
        pages = 0
        while path:
            pages += 1
            if pages > MAX_TAG_PAGES:
                raise RegistryError(f"registry's tag list for {repo} did not end after {MAX_TAG_PAGES} pages; "
                                    "refusing to read more (a registry bug, or a hostile server)")
            resp = self._get(repo, path)
            self._check(resp, f"the tags of {repo}", repo)
            page = _tag_page(resp, repo)
            if page and tuple(page) in seen_contents:
                raise RegistryError(f"registry's tag pages for {repo} loop back on themselves: a page repeats an "
                                    f"earlier one under another cursor ({sanitize_url(resp.url)})")
            seen_contents.add(tuple(page))
            tags.extend(page)
            path = _next_link(resp, self.transport.base_url)
            if path:
                self._check_next(repo, path)
            if path in seen_pages:
                raise RegistryError(f"registry's tag pages for {repo} loop back on themselves ({sanitize_url(path)})")
            if path:
                seen_pages.add(path)
        return tags

    def _check_next(self, repo: str, url: str) -> None:
        """The origin rule for a next page: credentials are sent with it, so only to the registry itself."""
        try:
            self.transport.check_credentials_target(url)
        except CredentialsRefused as refused:
            raise RegistryError(f"registry's tag pages for {repo} continue at {sanitize_url(url)}; not followed: "
                                f"{refused}") from None

    # -- manifests and dates -----------------------------------------------------------------
    def _manifest(self, repo: str, reference: str) -> tuple[str, str, Manifest]:
        """(digest, media type, parsed body) of a tag or digest."""
        what = f"manifest {repo}:{reference}" if not reference.startswith("sha256:") else f"manifest {repo}@{reference}"
        resp = self._get(repo, f"/v2/{repo}/manifests/{reference}", headers={"Accept": ACCEPT})
        if resp.status_code == 404 and "MANIFEST_UNKNOWN" in _error_codes(resp):
            raise RegistryError(f"{what} disappeared while being read (deleted or re-tagged?); run get again")
        self._check(resp, what, repo)
        try:
            body = loads(resp.content)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            raise MalformedManifest(f"{what} is not valid JSON; fix or delete that tag in the registry") from None
        media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip() or str(body.get("mediaType", ""))
        digest = _checked_digest(resp, body, media_type, reference, what)
        return digest, media_type, body

    def image_date(self, repo: str, tag: str) -> ImageDate:
        """The digest under ``tag`` and when its image was created."""
        digest, media_type, body = self._manifest(repo, tag)
        where = f"{repo}:{tag}"
        return ImageDate(digest=digest, created=self._created(repo, where, media_type, body))

    def _created(self, repo: str, where: str, media_type: str, body: Manifest) -> dt.datetime:
        if media_type in LISTS or (not media_type and "manifests" in body):
            child = self._platform_child(body, where)
            _, child_type, child_body = self._manifest(repo, child)
            if child_type in LISTS:
                raise MalformedManifest(f"{where}: a manifest list nested in a manifest list is not supported")
            return self._created(repo, f"{where} ({self.platform})", child_type, child_body)
        if media_type in SCHEMA1 or body.get("schemaVersion") == 1:
            return _schema1_created(body, where)
        if media_type in SINGLE or "config" in body:
            config = body.get("config")
            if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
                raise MalformedManifest(f"{where}: manifest has no config digest; fix or delete that tag")
            return self._config_created(repo, config["digest"], where)
        raise MalformedManifest(f"{where}: unsupported manifest type {shorten(media_type or 'unknown')}")

    def _platform_child(self, body: Manifest, where: str) -> str:
        want = self.platform.split("/")
        entries = body.get("manifests")
        if not isinstance(entries, list):
            raise MalformedManifest(f"{where}: manifest list without 'manifests'")
        for entry in entries:
            platform = entry.get("platform") or {} if isinstance(entry, dict) else {}
            have = [platform.get("os"), platform.get("architecture")]
            if len(want) == 3:
                have.append(platform.get("variant"))
            if have == want and isinstance(entry.get("digest"), str):
                return str(entry["digest"])
        raise MalformedManifest(f"{where}: no {self.platform} image in its manifest list; set --platform")

    def _config_created(self, repo: str, digest: str, where: str) -> dt.datetime:
        resp = self._get(repo, f"/v2/{repo}/blobs/{digest}")
        self._check(resp, f"config blob of {where}", repo)
        if _digest_of(resp.content, digest) != digest:
            raise DigestMismatch(f"{where}: the config blob the registry sent does not have the digest {digest} "
                                 "it was asked for; nothing was written (check the registry and its storage)")
        try:
            config = loads(resp.content)
        except ValueError:
            raise MalformedManifest(f"{where}: config blob is not JSON") from None
        if not isinstance(config, dict):
            raise MalformedManifest(f"{where}: config blob is not a JSON object")
        return parse_created(config.get("created"), f"{where} config")


def _schema1_created(body: Manifest, where: str) -> dt.datetime:
    history = body.get("history")
    if not isinstance(history, list) or not history:
        raise MalformedManifest(f"{where}: schema 1 manifest without history")
    times = []
    for entry in history:
        try:
            compat = loads(entry["v1Compatibility"])
        except (TypeError, KeyError, ValueError):
            raise MalformedManifest(f"{where}: schema 1 history entry is not readable") from None
        if isinstance(compat, dict) and compat.get("created"):
            times.append(parse_created(compat["created"], where))
    if not times:
        raise MalformedManifest(f"{where}: schema 1 manifest has no created time")
    return max(times)


def _tag_page(resp: HTTPAnswer, repo: str) -> list[str]:
    """The ``tags`` of one page: a list of strings (``null`` for an empty repository)."""
    try:
        body = loads(resp.content)
    except ValueError:
        raise RegistryError(f"registry sent an unreadable tag list for {repo}") from None
    page = body.get("tags") if isinstance(body, dict) else None
    if page is None and isinstance(body, dict):
        return []
    if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
        raise RegistryError(f"registry sent a tag list for {repo} whose 'tags' is not a list of strings "
                            f"(found: {shorten(page, 60)})")
    return page


def _digest_of(content: bytes, like: str) -> str:
    """The digest of ``content`` in the algorithm of ``like`` (sha256 unless it names sha384/sha512)."""
    algorithm = like.partition(":")[0] if like.startswith(("sha384:", "sha512:")) else "sha256"
    return f"{algorithm}:{hashlib.new(algorithm, content).hexdigest()}"


def _schema1_payload(content: bytes, body: Manifest) -> bytes:
    """A signed schema 1 manifest's digest covers it without its signatures (libtrust's formatLength/Tail)."""
    try:
        protected = body["signatures"][0]["protected"]
        header = loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
        tail = header["formatTail"]
        return content[:int(header["formatLength"])] + base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4))
    except (KeyError, IndexError, TypeError, ValueError, binascii.Error):
        return content


def _checked_digest(resp: HTTPAnswer, body: Manifest, media_type: str, reference: str,
                    what: str) -> str:
    """The manifest's digest, computed from the bytes received and compared with what the registry claims.

    The digest goes into rollback.json and, with pin_digest, into Marathon: a registry (or a proxy)
    that lies about it must not get it there (docs/reliability.md, "A hostile server").
    """
    claimed = resp.headers.get("Docker-Content-Digest") or ""
    content = resp.content
    if media_type == MT_DOCKER_V1_SIGNED or (not media_type and "signatures" in body):
        content = _schema1_payload(content, body)
    expected = claimed or (reference if reference.startswith("sha") and ":" in reference else "sha256:")
    actual = _digest_of(content, expected)
    for name, value in (("Docker-Content-Digest", claimed), ("requested digest", reference)):
        if value.startswith(("sha256:", "sha384:", "sha512:")) and _digest_of(content, value) != value:
            raise DigestMismatch(f"{what}: the registry's {name} {value[:80]} is not the digest of the manifest "
                                 f"it sent ({actual}); nothing was written (check the registry, or a proxy "
                                 "in front of it)")
    return claimed if claimed.startswith(("sha256:", "sha384:", "sha512:")) else actual


def _error_codes(resp: HTTPAnswer) -> list[str]:
    try:
        errors = loads(resp.content).get("errors") or []
        return [str(e.get("code")) for e in errors if isinstance(e, dict)]
    except (ValueError, AttributeError, TypeError):
        return []


def _next_link(resp: HTTPAnswer, base_url: str) -> str | None:
    """The ``rel="next"`` target of a Link header, made absolute against the page's URL (RFC 8288)."""
    header = resp.headers.get("Link")
    if not header:
        return None
    for part in header.split(","):
        url_part, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            target = url_part.strip().strip("<>")
            return urllib.parse.urljoin(resp.url or base_url + "/", target)
    return None
