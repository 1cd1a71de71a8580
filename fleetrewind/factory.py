"""Factories that build the network clients from Settings (one session per API)."""

from __future__ import annotations

from .errors import UsageError
from .marathon.client import MarathonClient
from .registry.client import RegistryClient
from .registry.auth import credentials_from_docker_config
from .settings import Settings
from .transport import Transport


def registry_client(settings: Settings) -> RegistryClient:
    if not settings.registry_url:
        raise UsageError("no registry URL: pass --registry=<url> or set DOCKER_REGISTRY")
    transport = Transport(settings.registry_url, tls=settings.tls, pool_size=settings.concurrency,
                          name="registry")
    credentials = settings.registry_credentials or credentials_from_docker_config(
        settings.docker_config, settings.registry_url)
    return RegistryClient(transport, credentials=credentials, platform=settings.platform)


def marathon_client(settings: Settings) -> MarathonClient:
    if not settings.marathon_url:
        raise UsageError("no Marathon URL: pass --marathon=<url> or set MARATHON_URL")
    if settings.marathon_password and not settings.marathon_user:
        raise UsageError("a Marathon password was given without a user: set --user or MARATHON_USER")
    transport = Transport(settings.marathon_url, tls=settings.tls, pool_size=max(settings.parallel, 4) + 4,
                          name="Marathon", timeout=30.0)
    return MarathonClient(transport, user=settings.marathon_user, password=settings.marathon_password,
                          auth_mode=settings.marathon_auth)
