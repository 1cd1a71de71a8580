"""A persistent cache of what the registry told us, so a second ``get`` fetches only what is new.

Two maps, per registry: digest -> creation time (digests are content addresses, so an entry
never goes stale), and repository -> tag -> digest. Build-numbered tags are treated as
immutable, as CI pushes them; ``--no-cache`` re-reads everything.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..cachefile import CacheFile
from ..model.imageref import DIGEST_RE as _DIGEST_RE, TAG_RE as _TAG_RE
from ..instants import read_instant
from ..model.names import SERVICE_RE
from ..transport import sanitize_url
from ..inputs import loads, read_text

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


class DigestCache(CacheFile):
    what = "registry cache"

    def __init__(self, folder: Path | None, registry_url: str) -> None:
        super().__init__(folder, "registry", sanitize_url(registry_url))
        self.created: dict[str, str] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self._load()

    def _load(self) -> None:
        """Read the cache back as untrusted input: an entry whose digest or date is malformed is
        dropped with a warning (and fetched again); a file that is not a cache is ignored."""
        if not self.path or not self.path.is_file():
            return
        try:
            data = loads(read_text(self.path))
        except (OSError, ValueError):
            # A cache is only an optimisation: a broken one is ignored and rewritten.
            log.warning("ignoring the unreadable registry cache %s; it will be rewritten", self.path)
            return
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            return
        digests, tags = data.get("digests"), data.get("tags")
        dropped = 0
        for digest, created in (digests.items() if isinstance(digests, dict) else ()):
            if _DIGEST_RE.fullmatch(digest) and read_instant(created) is not None:
                self.created[digest] = created
            else:
                dropped += 1
        for repo, tag_map in (tags.items() if isinstance(tags, dict) else ()):
            if not SERVICE_RE.fullmatch(repo) or not isinstance(tag_map, dict):
                dropped += 1
                continue
            for tag, digest in tag_map.items():
                if isinstance(digest, str) and digest in self.created and _TAG_RE.fullmatch(tag):
                    self.tags.setdefault(repo, {})[tag] = digest
                else:
                    dropped += 1
        if dropped:
            log.warning("dropped %d malformed entries of the registry cache %s; they will be fetched again",
                        dropped, self.path)
            self._dirty = True

    def lookup_tag(self, repo: str, tag: str) -> tuple[str, str] | None:
        """(digest, created) when this tag was seen before and its digest's date is known."""
        with self._lock:
            digest = self.tags.get(repo, {}).get(tag)
            if digest and digest in self.created:
                return digest, self.created[digest]
        return None

    def store(self, repo: str, tag: str, digest: str, created: str) -> None:
        with self._lock:
            self.created[digest] = created
            self.tags.setdefault(repo, {})[tag] = digest
            self._dirty = True

    def forget_missing_tags(self, repo: str, present: set[str]) -> None:
        """Deleted tags leave the tag map (their digests' dates stay valid)."""
        self._forget(self.tags.get(repo, {}), present)

    def _payload(self) -> dict[str, object]:
        return {"format": CACHE_FORMAT, "digests": self.created, "tags": self.tags}
