"""A persistent cache of Marathon's stored app versions, so a second ``plan`` reads only the version lists.

A stored version never changes (a change makes a new one), so an (app id, version) entry never
goes stale. The file lives beside the registry cache (``marathon-<key>.json``, mode 0600) and
holds only what the timeline needs: image, instances, versionInfo, a hash of every field that holds
no secret, and the names of the secret fields (every env value and secret, and any field holding a
credential): no value or hash of a secret, and no key, so nothing in it leads back to a secret
(docs/how-it-works.md, "The version cache"). Secret fields of a cached version are compared
with nothing: a plan says "not compared" for them.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from pathlib import Path

from ..cachefile import CacheFile
from ..transport import sanitize_url
from ..platform.timeline import BadTimestamp, Definition, canonical, instant_text
from ..inputs import loads, read_text

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 1 kept keyed hashes of env values beside their key: dropped when read


class VersionCache(CacheFile):
    what = "Marathon version cache"

    def __init__(self, folder: Path | None, marathon_url: str) -> None:
        super().__init__(folder, "marathon", sanitize_url(marathon_url))
        self._entries: dict[str, dict[str, object]] = {}   # app id -> instant -> raw entry
        self.key = secrets.token_bytes(32)               # for secret fields in memory; never written
        self.dropped = 0                                 # entries that did not parse (read again)
        self._load()

    def _load(self) -> None:
        if not self.path or not self.path.is_file():
            return
        try:
            data = loads(read_text(self.path))
            if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
                self._dirty = True                       # rewritten at the next save, without what it held
                return
            apps = data["apps"]
            if not isinstance(apps, dict):
                return
        except (OSError, ValueError, KeyError, TypeError):
            # A cache is only an optimisation: a broken one is ignored and rewritten.
            log.debug("ignoring unreadable Marathon version cache %s", self.path)
            return
        self._entries = {str(app): dict(entries) for app, entries in apps.items() if isinstance(entries, dict)}

    def lookup(self, app_id: str, version: str) -> Definition | None:
        """The cached definition of this version (any spelling of its instant), or None."""
        try:
            instant = canonical(version)
        except BadTimestamp:
            return None
        with self._lock:
            raw = self._entries.get(app_id, {}).get(instant)
            if raw is None:
                return None
            try:
                definition = Definition.from_json(raw)
            except ValueError:
                del self._entries[app_id][instant]   # read again from Marathon
                self.dropped += 1
                self._dirty = True
                return None
        # the version string as Marathon lists it now is the one a rollback will send
        return definition if definition.version == version else _respelled(definition, version)

    def store(self, app_id: str, definition: Definition) -> None:
        with self._lock:
            self._entries.setdefault(app_id, {})[instant_text(definition.at)] = definition.to_json()
            self._dirty = True

    def forget_missing(self, app_id: str, listed: list[str]) -> None:
        """Versions Marathon no longer keeps (its retention cap) leave the cache too."""
        keep: set[str] = set()
        for version in listed:
            try:
                keep.add(canonical(version))
            except BadTimestamp:
                continue
        self._forget(self._entries.get(app_id, {}), keep)

    def _payload(self) -> dict[str, object]:
        return {"format": CACHE_FORMAT, "apps": self._entries}


def _respelled(definition: Definition, version: str) -> Definition:
    return replace(definition, version=version)
