"""Read the stored versions of a set of apps from Marathon (through the cache) into timelines.

Best effort by design: history is a second witness, so an app whose versions cannot be read
(garbage, a listed version answering 404, 5xx, a hang) gets a timeline that says why, and the
caller decides (the build rule goes on with a history-short check; --with-config refuses).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Mapping, Sequence

from ..errors import MarathonError, UnreachableError
from .client import MarathonClient
from ..platform.fleet import History
from ..platform.timeline import BadTimestamp, Definition, Failed, Timeline, broken, build_timeline, parse_instant
from .definition import definition_of
from .limits import DEFAULT_READ_CAP
from .versioncache import VersionCache

log = logging.getLogger(__name__)

DEFAULT_MAX_VERSIONS = 50


def max_versions_of(info: Mapping[str, object]) -> int:
    """``zk_max_versions`` from ``/v2/info`` (marathon_config or zookeeper_config), else Marathon's default."""
    for section in ("marathon_config", "zookeeper_config"):
        config = info.get(section)
        value = config.get("zk_max_versions") if isinstance(config, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return DEFAULT_MAX_VERSIONS


class _Reader:
    def __init__(self, client: MarathonClient, cache: VersionCache, timeout: float) -> None:
        self.client = client
        self.cache = cache
        self.timeout = timeout
        self.requests = 0
        self._lock = threading.Lock()

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def versions(self, app_id: str) -> list[str] | str:
        """The listed versions, or the reason they cannot be read."""
        try:
            self._count()
            listed = self.client.app_versions(app_id, timeout=self.timeout)
        except (UnreachableError, MarathonError) as err:
            return f"its versions could not be read: {err}"
        self.cache.forget_missing(app_id, listed)
        return listed

    def definition(self, app_id: str, version: str) -> Definition | str:
        cached = self.cache.lookup(app_id, version)
        if cached is not None:
            return cached
        try:
            self._count()
            raw = self.client.app_version(app_id, version, timeout=self.timeout)
            definition = definition_of(raw, self.cache.key, version=version)
        except (UnreachableError, MarathonError) as err:
            return f"version {version} could not be read: {err}"
        except (BadTimestamp, ValueError) as err:
            return f"version {version!r} is not usable: {err}"
        self.cache.store(app_id, definition)
        return definition


def _held(now: Definition | None, version: str) -> Definition | None:
    """The current definition when ``version`` (any ISO-8601 spelling) names it, else None."""
    if now is None:
        return None
    try:
        same = parse_instant(version) == now.at
    except BadTimestamp:
        return None
    return replace(now, version=version) if same else None


def newest(versions: Sequence[str], cap: int) -> list[str]:
    """The ``cap`` newest versions by their instant (a list has no promised order); unreadable ones last."""
    def when(version: str) -> float:
        try:
            return parse_instant(version).timestamp()
        except BadTimestamp:
            return float("-inf")
    return sorted(versions, key=when, reverse=True)[:cap]


def read_history(client: MarathonClient, cache: VersionCache, *, app_ids: Mapping[str, str],
                 apps: Mapping[str, Mapping[str, object]], concurrency: int, timeout: float = 10.0,
                 failed: Mapping[str, Sequence[Failed]] | None = None, read_cap: int = DEFAULT_READ_CAP) -> History:
    """Every service's timeline; never raises for one app's bad history (its timeline says why).

    At most ``read_cap`` versions of an app are read, the newest; the timeline then starts there
    and says so (a history-short check for a moment before it)."""
    reader = _Reader(client, cache, timeout)
    try:
        max_versions = max_versions_of(client.info())
    except (UnreachableError, MarathonError) as err:
        log.debug("no /v2/info (%s): assuming %d versions per app", err, DEFAULT_MAX_VERSIONS)
        max_versions = DEFAULT_MAX_VERSIONS
    services = [s for s in app_ids if s in apps]
    current: dict[str, Definition] = {}
    problems: dict[str, str] = {}
    for service in services:
        try:
            current[service] = definition_of(apps[service], cache.key)
        except (BadTimestamp, ValueError) as err:
            problems[service] = f"its current definition has no usable version ({err})"
    workers = max(1, min(concurrency, 64))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="history") as pool:
        listed = dict(zip(services, pool.map(lambda s: reader.versions(app_ids[s]), services)))
        totals = {s: len(v) for s, v in listed.items() if isinstance(v, list) and len(v) > read_cap}
        kept = {s: newest(v, read_cap) if s in totals else v for s, v in listed.items() if isinstance(v, list)}
        wanted = [(s, v) for s in services if s in kept for v in kept[s]]
        # the app's own version is the definition already read with the app; cached versions are
        # answered here; only the others go to Marathon, in parallel
        known = [_held(current.get(s), v) or cache.lookup(app_ids[s], v) for s, v in wanted]
        missing = [pair for pair, hit in zip(wanted, known) if hit is None]
        fetched = iter(list(pool.map(lambda pair: reader.definition(app_ids[pair[0]], pair[1]), missing)))
        read: list[Definition | str] = [hit if hit is not None else next(fetched) for hit in known]
    definitions: dict[str, list[Definition]] = {s: [] for s in services}
    for (service, _version), result in zip(wanted, read):
        if isinstance(result, str):
            problems.setdefault(service, result)
        else:
            definitions[service].append(result)
    timelines: dict[str, Timeline] = {}
    for service in services:
        app_id = app_ids[service]
        versions = listed[service]
        problem = versions if isinstance(versions, str) else problems.get(service)
        if problem:
            timelines[service] = broken(app_id, problem)
            continue
        timelines[service] = build_timeline(app_id, definitions[service], current=current.get(service),
                                            max_versions=max_versions, failed=(failed or {}).get(service, ()),
                                            capped=(read_cap, totals[service]) if service in totals else None)
    cache.save()
    return History(timelines=timelines, current=current, max_versions=max_versions, requests=reader.requests)
