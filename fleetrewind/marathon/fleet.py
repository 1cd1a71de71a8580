"""What Marathon runs now for a set of services: app ids, app definitions, images."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .appmap import map_apps
from .client import MarathonClient, image_of
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
