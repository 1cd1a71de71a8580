"""Canned registry answers (what a proxy's ``rewrite`` returns) and the kind of a registry request path."""

from __future__ import annotations

import json
import re
from typing import Mapping
from urllib.parse import urlsplit

Canned = tuple[int, Mapping[str, str], bytes]

TAGS = re.compile(r"^/v2/(?P<name>.+)/tags/list$")
_MANIFESTS = re.compile(r"^/v2/.+/manifests/[^/]+$")
_BLOBS = re.compile(r"^/v2/.+/blobs/")
KINDS = ("tags", "manifests", "blobs", "other")


def classify(path: str) -> str:
    """Which counter a request path belongs to: tags, manifests, blobs or other."""
    bare = urlsplit(path).path
    if TAGS.match(bare):
        return "tags"
    if _MANIFESTS.match(bare):
        return "manifests"
    if _BLOBS.match(bare):
        return "blobs"
    return "other"


def canned(
    status: int,
    body: bytes | str | Mapping[str, object] = b"",
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Canned:
    """Build a (status, headers, body) answer for ``rewrite``; dicts become JSON."""
    if isinstance(body, Mapping):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return status, {"Content-Type": content_type, **(headers or {})}, body


def registry_error(status: int, code: str, message: str) -> Canned:
    """A registry-style error answer: ``{"errors": [{"code": ..., "message": ...}]}``."""
    return canned(status, {"errors": [{"code": code, "message": message, "detail": None}]})
