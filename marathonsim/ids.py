"""App ids: canonical absolute paths with Marathon's segment rule (Marathon's state/PathId.scala)."""
from __future__ import annotations

import re

SEGMENT_PATTERN = (
    r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$"
)
_SEGMENT = re.compile(SEGMENT_PATTERN)
RESERVED = ("restart", "tasks", "versions")


def canonical(raw: str) -> str:
    """Resolve a (possibly relative) id against '/'; empty, '.' and '..' segments resolve away."""
    parts: list[str] = []
    for seg in raw.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    return "/" + "/".join(parts)


def id_errors(app_id: str) -> list[str]:
    """Rule texts the id breaks; empty when valid."""
    segments = [s for s in app_id.split("/") if s]
    if not segments:
        return ["Path must contain at least one path element"]
    errors = [
        f"must fully match regular expression '{SEGMENT_PATTERN}'"
        for seg in segments
        if not _SEGMENT.match(seg)
    ][:1]
    if segments[-1] in RESERVED:
        errors.append(
            "must not end with any of the following reserved keywords: " + ", ".join(RESERVED)
        )
    return errors
