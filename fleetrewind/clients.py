"""Factories that build the network clients from Settings (one session per API)."""

from __future__ import annotations

from .errors import UsageError
from .registry import RegistryClient
from .registry_auth import credentials_from_docker_config
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
