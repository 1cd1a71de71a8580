"""What Marathon runs now for a set of services: app ids, app definitions, images."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Mapping, Sequence

from .answers import app_problem
from ..errors import RollbackError, UnreachableError
from ..secret import REGISTRY, Secret, secret_name
from .appdef import AppDef, image_of
from .appmap import map_apps
from .client import MarathonClient


@dataclass(frozen=True)
class FleetState:
    app_ids: dict[str, str]
    apps: dict[str, AppDef]

    @property
    def images(self) -> dict[str, str | None]:
        return {s: image_of(app) for s, app in self.apps.items()}

    @property
    def problems(self) -> dict[str, str | None]:
        """service -> why its app is not healthy at rest (None when it is): "already runs" needs both."""
        return {s: app_problem(app) for s, app in self.apps.items()}

    @property
    def versions(self) -> dict[str, str | None]:
        """Each app's version: the name of its whole current definition in Marathon's history."""
        return {s: (str(app["version"]) if isinstance(app.get("version"), str) else None) for s, app in self.apps.items()}


def load_apps(client: MarathonClient, app_ids: Mapping[str, str], *, parallel: int) -> FleetState:
    services = list(app_ids)
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(services) or 1))) as pool:
        apps = list(pool.map(lambda s: client.get_app(app_ids[s]), services))
    for app in apps:
        register_app_secrets(app)
    return FleetState(app_ids=dict(app_ids), apps=dict(zip(services, apps)))



def register_app_secrets(app: Mapping[str, object]) -> None:
    """An app's ``secrets`` and its secret-looking ``env`` values are secrets of this run too.

    They travel in the app definition (a PUT body, a 422's answer, a --verbose log line); the
    redaction must know them. Other ``env`` values (ports, hosts, image names) are not.
    """
    container = app.get("container")
    docker = container.get("docker") if isinstance(container, dict) else None
    image = docker.get("image") if isinstance(docker, dict) else None
    REGISTRY.data_words([str(app.get("id")), image if isinstance(image, str) else ""])  # data, never hidden inside
    env = app.get("env")
    if isinstance(env, dict):
        for name, value in env.items():
            if isinstance(value, str) and value and secret_name(name):
                Secret(value, f"the env value {str(name)[:40]} of {str(app.get('id'))[:80]}")
    secrets = app.get("secrets")
    if isinstance(secrets, dict):
        for entry in secrets.values():
            for value in (entry.values() if isinstance(entry, dict) else [entry]):
                if isinstance(value, str) and value:
                    Secret(value, f"a secret of {str(app.get('id'))[:80]}")


def load_fleet(client: MarathonClient, services: Sequence[str], *, env: str, overrides: Mapping[str, str],
               app_group: str | None, parallel: int) -> FleetState:
    """Map services to apps (exit 2 on zero or several matches), then read each app."""
    mapping = map_apps(services, client.list_app_ids(), env=env, overrides=overrides, app_group=app_group)
    return load_apps(client, mapping, parallel=parallel)


@dataclass(frozen=True)
class Peek:
    """One service's app as far as it could be read (read-only, best effort)."""

    app_id: str | None
    app: AppDef | None
    problem: str | None = None

    @property
    def image(self) -> str | None:
        return image_of(self.app) if self.app else None


def readable(peeks: Mapping[str, Peek]) -> FleetState:
    """The peeked apps that could be read, as a fleet (what Marathon's history is read for)."""
    found = {s: p for s, p in peeks.items() if p.app_id is not None and p.app is not None}
    return FleetState(app_ids={s: str(p.app_id) for s, p in found.items()},
                      apps={s: p.app for s, p in found.items() if p.app is not None})


def listed_fleet(client: MarathonClient, services: Sequence[str], *, env: str, overrides: Mapping[str, str],
                 app_group: str | None) -> FleetState:
    """The services' apps (those that map) from one read of every app with its tasks and last task failure."""
    apps = {str(app["id"]): app for app in client.apps_with_tasks()}
    mapped: dict[str, str] = {}
    for service in services:
        try:
            mapped[service] = map_apps([service], list(apps), env=env, overrides=overrides,
                                       app_group=app_group)[service]
        except RollbackError:
            continue  # not mapped: nothing to observe (plan and run say why)
    return FleetState(app_ids=mapped, apps={s: apps[i] for s, i in mapped.items()})


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
