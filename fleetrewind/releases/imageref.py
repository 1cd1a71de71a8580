"""Pure parsing of Docker image references: ``[host[:port]/]repo[:tag][@digest]``.

A registry port is not a tag: ``host:5000/repo`` has no tag. Only the tag or digest is ever
replaced; the registry host and repository of the running image are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError

_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
# distribution's reference grammar: path components of lower-case letters and digits with separators
_REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


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
            raise UsageError(f"{tag!r} is not a valid image tag")
        return ImageRef(self.host, self.repository, tag, None)

    def with_digest(self, digest: str, tag: str | None = None) -> "ImageRef":
        if not _DIGEST_RE.fullmatch(digest):
            raise UsageError(f"{digest!r} is not a valid image digest")
        return ImageRef(self.host, self.repository, tag, digest)


def parse_image(reference: str) -> ImageRef:
    """Split an image reference; raise UsageError naming it when it cannot be one."""
    if not reference or reference != reference.strip() or " " in reference:
        raise UsageError(f"{reference!r} is not an image reference")
    rest, digest = reference, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.fullmatch(digest):
            raise UsageError(f"{reference!r} has a malformed digest")
    host = None
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, rest = first, remainder
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG_RE.fullmatch(tag):
            raise UsageError(f"{reference!r} has a malformed tag {tag!r}")
    if not rest or rest.startswith("/") or rest.endswith("/") or "//" in rest:
        raise UsageError(f"{reference!r} has no repository name")
    if not _REPO_RE.fullmatch(rest):
        raise UsageError(f"{reference!r} has a malformed repository name {rest!r}")
    return ImageRef(host=host, repository=rest, tag=tag, digest=digest)


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
