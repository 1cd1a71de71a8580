"""What Marathon runs now for a set of services: app ids, app definitions, images."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .appmap import map_apps
from .client import MarathonClient, image_of
from ..errors import RollbackError, UnreachableError
from ..settings import Settings


@dataclass(frozen=True)
class FleetState:
    app_ids: dict[str, str]
    apps: dict[str, dict[str, Any]]

    @property
    def images(self) -> dict[str, str | None]:
        return {s: image_of(app) for s, app in self.apps.items()}


def load_apps(client: MarathonClient, app_ids: Mapping[str, str], *, parallel: int) -> FleetState:
    services = list(app_ids)
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(services) or 1))) as pool:
        apps = list(pool.map(lambda s: client.get_app(app_ids[s]), services))
    return FleetState(app_ids=dict(app_ids), apps=dict(zip(services, apps)))


def load_fleet(client: MarathonClient, services: Sequence[str], settings: Settings) -> FleetState:
    """Map services to apps (exit 2 on zero or several matches), then read each app."""
    assert settings.env
    mapping = map_apps(services, client.list_app_ids(), env=settings.env, overrides=settings.app_ids,
                       app_group=settings.app_group)
    return load_apps(client, mapping, parallel=settings.parallel)


@dataclass(frozen=True)
class Peek:
    """One service's app as far as it could be read (read-only, best effort)."""

    app_id: str | None
    app: dict[str, Any] | None
    problem: str | None = None

    @property
    def image(self) -> str | None:
        return image_of(self.app) if self.app else None


def peek_apps(client: MarathonClient, services: Sequence[str], *, env: str, overrides: Mapping[str, str],
              app_group: str | None, parallel: int) -> dict[str, Peek]:
    """Each service's app, where it can be mapped and read; a service that cannot is a problem, not an error.

    Listing the apps must work (it raises like any read); one app missing or unreadable does not
    stop the others from being shown.
    """
    known = client.list_app_ids()
    mapped: dict[str, str] = {}
    peeks: dict[str, Peek] = {}
    for service in services:
        try:
            mapped[service] = map_apps([service], known, env=env, overrides=overrides, app_group=app_group)[service]
        except RollbackError as err:
            peeks[service] = Peek(None, None, str(err).removeprefix("cannot map services to Marathon apps: "))

    def read(service: str) -> Peek:
        try:
            return Peek(mapped[service], client.get_app(mapped[service]))
        except UnreachableError:
            raise
        except RollbackError as err:
            return Peek(mapped[service], None, str(err))

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(mapped) or 1))) as pool:
        peeks.update(zip(mapped, pool.map(read, list(mapped))))
    return {s: peeks[s] for s in services}
