"""A persistent cache of what the registry told us, so a second ``get`` fetches only what is new.

Two maps, per registry: digest -> creation time (digests are content addresses, so an entry
never goes stale), and repository -> tag -> digest. Build-numbered tags are treated as
immutable, as CI pushes them; ``--no-cache`` re-reads everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

from ..atomic import write_json
from ..transport import sanitize_url

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


class DigestCache:
    def __init__(self, folder: Path | None, registry_url: str) -> None:
        key = hashlib.sha256(sanitize_url(registry_url).encode()).hexdigest()[:16]
        self.path = folder / f"registry-{key}.json" if folder else None
        self._lock = threading.Lock()
        self.created: dict[str, str] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self._dirty = False
        self._load()

    def _load(self) -> None:
        if not self.path or not self.path.is_file():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != CACHE_FORMAT:
                return
            self.created = {str(k): str(v) for k, v in data.get("digests", {}).items()}
            self.tags = {str(r): {str(t): str(d) for t, d in m.items()} for r, m in data.get("tags", {}).items()}
        except (OSError, ValueError, AttributeError):
            # A cache is only an optimisation: a broken one is ignored and rewritten.
            log.debug("ignoring unreadable cache %s", self.path)
            self.created, self.tags = {}, {}

    def lookup_tag(self, repo: str, tag: str) -> tuple[str, str] | None:
        """(digest, created) when this tag was seen before and its digest's date is known."""
        with self._lock:
            digest = self.tags.get(repo, {}).get(tag)
            if digest and digest in self.created:
                return digest, self.created[digest]
        return None

    def lookup_digest(self, digest: str) -> str | None:
        with self._lock:
            return self.created.get(digest)

    def store(self, repo: str, tag: str, digest: str, created: str) -> None:
        with self._lock:
            self.created[digest] = created
            self.tags.setdefault(repo, {})[tag] = digest
            self._dirty = True

    def forget_missing_tags(self, repo: str, present: set[str]) -> None:
        """Deleted tags leave the tag map (their digests' dates stay valid)."""
        with self._lock:
            known = self.tags.get(repo, {})
            for tag in set(known) - present:
                del known[tag]
                self._dirty = True

    def save(self) -> None:
        if not self.path or not self._dirty:
            return
        with self._lock:
            data = {"format": CACHE_FORMAT, "digests": self.created, "tags": self.tags}
            try:
                write_json(self.path, data, mode=0o600)
            except OSError as exc:
                log.warning("could not write registry cache %s: %s", self.path, exc.strerror)
            self._dirty = False
