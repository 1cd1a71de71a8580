"""What Marathon runs now for a set of services: app ids, app definitions, images."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Mapping, Sequence

from .answers import app_problem
from ..errors import RollbackError, UnreachableError
from ..secret import REGISTRY, Secret, secret_name
from .appdef import AppDef, image_of
from .appmap import map_apps
from .client import MarathonClient
from .health import config_at
from ..platform.fleet import AppCounts, FleetState, Peek


def fleet_state(app_ids: Mapping[str, str], apps: Mapping[str, AppDef]) -> FleetState:
    """The platform's view of these apps: their images, what is wrong with each, their versions."""
    return FleetState(app_ids=dict(app_ids), apps=dict(apps), images={s: image_of(app) for s, app in apps.items()},
                      problems={s: app_problem(app) for s, app in apps.items()},
                      versions={s: (str(app["version"]) if isinstance(app.get("version"), str) else None)
                                for s, app in apps.items()},
                      changed_at={s: config_at(app) for s, app in apps.items()})


def load_apps(client: MarathonClient, app_ids: Mapping[str, str], *, parallel: int) -> FleetState:
    services = list(app_ids)
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(services) or 1))) as pool:
        apps = list(pool.map(lambda s: client.get_app(app_ids[s]), services))
    for app in apps:
        register_app_secrets(app)
    return fleet_state(app_ids, dict(zip(services, apps)))


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
    return fleet_state(mapped, {s: apps[i] for s, i in mapped.items()})


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
            app = client.get_app(mapped[service])
            return Peek(mapped[service], app, image=image_of(app), counts=app_counts(app))
        except UnreachableError:
            raise
        except RollbackError as err:
            return Peek(mapped[service], None, str(err))

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(mapped) or 1))) as pool:
        peeks.update(zip(mapped, pool.map(read, list(mapped))))
    return {s: peeks[s] for s in services}


def app_counts(app: AppDef) -> AppCounts:
    """An app's instances, tasks running and healthy, health checks and embedded deployments (``AppInfo``)."""
    def count(key: str) -> int | None:
        value = app.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    embedded = app.get("deployments")
    ids = tuple(str(d.get("id")) for d in embedded if isinstance(d, dict) and d.get("id")) \
        if isinstance(embedded, list) else ()
    return AppCounts(instances=count("instances"), running=count("tasksRunning"), healthy=count("tasksHealthy"),
                     health_checks=bool(app.get("healthChecks")), deployments=ids)
