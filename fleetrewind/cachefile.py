"""What the two persistent caches (registry digests, Marathon versions) share: one file per server,
mode 0600, written whole and only when something changed; a cache is an optimisation, so a failed
write is a warning, never an error."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Mapping, TypeVar

from .atomic import write_json

log = logging.getLogger(__name__)

V = TypeVar("V")


class CacheFile:
    what = "cache"   # named in the warning when the file cannot be written

    def __init__(self, folder: Path | None, kind: str, server: str) -> None:
        """``server`` is the server's URL without credentials; its hash names the file."""
        key = hashlib.sha256(server.encode()).hexdigest()[:16]
        self.path = folder / f"{kind}-{key}.json" if folder else None
        self._lock = threading.Lock()
        self._dirty = False

    def _payload(self) -> Mapping[str, object]:
        raise NotImplementedError

    def _forget(self, known: dict[str, V], keep: set[str]) -> None:
        """Entries the server no longer has leave the cache too."""
        with self._lock:
            for key in set(known) - keep:
                del known[key]
                self._dirty = True

    def save(self) -> None:
        if not self.path or not self._dirty:
            return
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_json(self.path, self._payload(), mode=0o600)
            except OSError as exc:
                log.warning("could not write %s %s: %s", self.what, self.path, exc.strerror)
            self._dirty = False
