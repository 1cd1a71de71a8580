"""Marathon as the tool's platform (``platform/protocol.py``): the client, the app mapping, the history reader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..model.evidence import Observation
from ..platform.fleet import App, Deployment, FleetState, History, Peek
from ..platform.protocol import Chosen, Judgement, View
from ..platform.slots import DeploymentSlots
from ..platform.timeline import Failed
from ..errors import MarathonError, UsageError
from .appdef import deployment_ids, docker_of, image_of, same_definition
from .client import MarathonClient
from .evidence import observe
from .fleet import listed_fleet, load_apps, load_fleet, peek_apps
from .health import judge
from .history import read_history
from .limits import DEFAULT_READ_CAP
from .stuck import stuck_reason, timeout_warnings
from .versioncache import VersionCache
from .watch import View as MarathonView, WaveWatch


class MarathonPlatform:
    """One Marathon, opened for one environment and the config's app mapping (``apps``, ``app_group``)."""

    def __init__(self, client: MarathonClient, *, env: str | None = None, overrides: Mapping[str, str] | None = None,
                 app_group: str | None = None, parallel: int = 8, concurrency: int = 16, cache_dir: Path | None = None,
                 cache_name: str = "", history_timeout: float = 10.0, read_cap: int = DEFAULT_READ_CAP) -> None:
        self.client = client
        self.env = env
        self.overrides = overrides or {}
        self.app_group = app_group
        self.parallel = parallel
        self.concurrency = concurrency
        self.cache_dir = cache_dir
        self.cache_name = cache_name  # the URL without credentials: the version cache's key
        self.history_timeout = history_timeout
        self.read_cap = read_cap  # versions read per app, newest first (config max_versions)

    def fleet(self, services: Sequence[str]) -> FleetState:
        assert self.env
        return load_fleet(self.client, services, env=self.env, overrides=self.overrides, app_group=self.app_group,
                          parallel=self.parallel)

    def apps(self, app_ids: Mapping[str, str]) -> FleetState:
        return load_apps(self.client, app_ids, parallel=self.parallel)

    def survey(self, services: Sequence[str]) -> FleetState:
        assert self.env
        return listed_fleet(self.client, services, env=self.env, overrides=self.overrides, app_group=self.app_group)

    def deployments(self) -> list[Deployment]:
        found = []
        for doc in self.client.deployments():
            started, apps = doc.get("version"), doc.get("affectedApps")
            found.append(Deployment(id=str(doc.get("id")), started=started if isinstance(started, str) else None,
                                    apps=tuple(str(a) for a in apps) if isinstance(apps, list) else ()))
        return found

    def peek(self, services: Sequence[str]) -> dict[str, Peek]:
        assert self.env
        return peek_apps(self.client, services, env=self.env, overrides=self.overrides, app_group=self.app_group,
                         parallel=self.parallel)

    def history(self, app_ids: Mapping[str, str], apps: Mapping[str, App], *,
                failed: Mapping[str, Sequence[Failed]]) -> History:
        cache = VersionCache(self.cache_dir, self.cache_name)
        return read_history(self.client, cache, app_ids=app_ids, apps=apps, concurrency=self.concurrency,
                            timeout=self.history_timeout, failed=failed, read_cap=self.read_cap)

    def confirm(self, chosen: Sequence[Chosen]) -> None:
        for pick in chosen:
            try:
                held = image_of(self.client.app_version(pick.app_id, pick.version))
            except MarathonError as err:
                held = f"unreadable ({err})"
            if held != pick.image:
                cache = VersionCache(self.cache_dir, self.cache_name)
                if cache.path:
                    cache.path.unlink(missing_ok=True)
                raise UsageError(f"the Marathon version cache {cache.path or ''} says {pick.service} ({pick.app_id}) "
                                 f"version {pick.version} ran {pick.image}, but Marathon holds {held} there: the cache "
                                 "was edited or is corrupt; it was removed and nothing was changed; run again")

    def change(self, app: App, image: str, *, version: str | None, force: bool,
               fence: Callable[[], bool] | None = None) -> str | None:
        if version:  # --with-config: the whole stored definition, deployed again
            return self.client.restore_version(str(app["id"]), version, image=image, force=force, fence=fence) or None
        return self.client.update_image(app, image, force=force, fence=fence) or None

    def read_app(self, app_id: str, *, timeout: float) -> App:
        return self.client.get_app(app_id, timeout=timeout)

    def judge(self, app: App, image: str, deployments: set[str]) -> Judgement:
        return judge(app, image, deployments)

    def watch(self, *, interval: float, clock: Callable[[], float], slots: DeploymentSlots) -> WaveWatch:
        return WaveWatch(self.client, interval=interval, clock=clock, slots=slots)

    def why_stuck(self, app_id: str, app: App, view: View, deployment_id: str | None,
                  now: dt.datetime) -> str | None:
        assert isinstance(view, MarathonView)
        return stuck_reason(queue_entry=view.queue.get(app_id), app=app,
                            deployment=view.deployments.get(deployment_id or ""), now=now)

    def busy(self, app: App) -> list[str]:
        return deployment_ids(app)

    def changeable(self, app: App) -> bool:
        return docker_of(app) is not None

    def holds(self, app_id: str, app: App, version: str) -> bool:
        try:
            return same_definition(app, self.client.app_version(app_id, version))
        except MarathonError:  # not readable (collected): restoring it says why
            return False

    def observe(self, service: str, app: App, now: dt.datetime) -> Observation | None:
        return observe(service, app, now)

    def slow_starts(self, fleet: FleetState, services: Sequence[str], timeout: float) -> list[str]:
        return timeout_warnings(list(services), fleet.apps, timeout)
