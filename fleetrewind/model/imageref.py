"""Pure parsing of Docker image references: ``[host[:port]/]repo[:tag][@digest]``.

A registry port is not a tag: ``host:5000/repo`` has no tag. Only the tag or digest is ever
replaced; the registry host and repository of the running image are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError
from ..secret import shorten

# ASCII only (re.ASCII): \w would take letters and digits of any script.
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$", re.ASCII)
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)
# distribution's reference grammar: path components of lower-case letters and digits with separators
REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$",
                     re.ASCII)
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                      r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$", re.ASCII)
MAX_REFERENCE = 512
DIGEST_RE, TAG_RE = _DIGEST_RE, _TAG_RE  # for the registry cache's checks


@dataclass(frozen=True)
class ImageRef:
    host: str | None
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repository}" if self.host else self.repository

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text

    def with_tag(self, tag: str) -> "ImageRef":
        if not _TAG_RE.fullmatch(tag):
            raise UsageError(f"{shorten(tag)} is not a valid image tag")
        return ImageRef(self.host, self.repository, tag, None)

    def with_digest(self, digest: str, tag: str | None = None) -> "ImageRef":
        if not _DIGEST_RE.fullmatch(digest):
            raise UsageError(f"{shorten(digest)} is not a valid image digest")
        return ImageRef(self.host, self.repository, tag, digest)


def parse_image(reference: str) -> ImageRef:
    """Split an image reference; raise UsageError naming it when it cannot be one."""
    if not isinstance(reference, str) or not reference or reference != reference.strip() or " " in reference \
            or len(reference) > MAX_REFERENCE:
        raise UsageError(f"{shorten(reference)} is not an image reference")
    rest, digest = reference, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.fullmatch(digest):
            raise UsageError(f"{reference!r} has a malformed digest")
    host = None
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, rest = first, remainder
        if not _HOST_RE.fullmatch(host):
            raise UsageError(f"{reference!r} has a malformed registry host {host!r}")
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG_RE.fullmatch(tag):
            raise UsageError(f"{reference!r} has a malformed tag {tag!r}")
    if not rest or rest.startswith("/") or rest.endswith("/") or "//" in rest:
        raise UsageError(f"{reference!r} has no repository name")
    if not REPO_RE.fullmatch(rest):
        raise UsageError(f"{reference!r} has a malformed repository name {rest!r}")
    return ImageRef(host=host, repository=rest, tag=tag, digest=digest)


def check_image(value: object, where: str) -> str:
    """An image read back from a file (snapshot, ledger, rollback.json): the same checks as typed input."""
    checked_image(value, where)
    assert isinstance(value, str)
    return value


def checked_image(value: object, where: str) -> ImageRef:
    """:func:`check_image`, giving the parsed reference."""
    if not isinstance(value, str):
        raise UsageError(f"{where}: {shorten(value)} is not an image reference")
    try:
        return parse_image(value)
    except UsageError as err:
        raise UsageError(f"{where}: {err}") from None


def retarget(current: str, *, tag: str, digest: str | None = None, pin_digest: bool = False) -> str:
    """The running image with only its tag (or digest) replaced."""
    ref = parse_image(current)
    if pin_digest and digest:
        return str(ref.with_digest(digest))
    return str(ref.with_tag(tag))


def runs(current: str | None, *, tag: str, digest: str | None) -> bool:
    """Does the running image already run this release (by tag, or pinned to its digest)?"""
    if not current:
        return False
    try:
        ref = parse_image(current)
    except UsageError:
        return False
    if ref.digest:
        return bool(digest) and ref.digest == digest
    return ref.tag == tag
