"""RegistryServer finds the Debian binary, or says what to install (started for real in
tests/integration/testbed/test_registry_server.py)."""

from __future__ import annotations

import pytest

from testbed.registry_server import RegistryBinaryMissing, RegistryServer, find_registry_binary


def test_finds_the_debian_binary() -> None:
    assert find_registry_binary().endswith("docker-registry")


def test_missing_binary_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTBED_REGISTRY_BINARY", "/nonexistent/docker-registry")
    with pytest.raises(RegistryBinaryMissing, match="install Debian package docker-registry"):
        find_registry_binary()
    with pytest.raises(RegistryBinaryMissing, match="install Debian package docker-registry"):
        RegistryServer().start()
