"""The integration tier: real servers (the Docker registry, the Marathon simulator, Slack and proxy
stand-ins), a browser, Ansible, subprocess suites. The registry fixtures live in registry_fixtures.py."""

from __future__ import annotations

from tests.integration.registry_fixtures import (  # noqa: F401  (fixtures, found by name)
    proxy_factory, registry, registry_basic, registry_tls, registry_token, slack_recorder, unique_repo)
