"""The unit tier stays socket-free: under --fast a test that opens a socket fails, and a server
fixture moves a test out of the tier (tests/conftest.py, tests/unit/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT_CONFTEST = (Path(__file__).parents[1] / "conftest.py").read_text(encoding="utf-8").replace(
    'pytest_plugins = ["tests.integration.registry_fixtures"]', "")
UNIT_CONFTEST = (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8")

SAMPLE = '''
import socket

import pytest


@pytest.fixture
def registry():
    return "a server fixture (a stand-in here)"


def test_pure():
    assert 1 + 1 == 2


def test_opens_a_socket():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))


def test_with_a_server(registry):
    assert registry


@pytest.mark.network
def test_marked_network():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
'''


def _tree(pytester: pytest.Pytester) -> None:
    """A root conftest and a unit tier holding the sample, as in tests/."""
    pytester.makeconftest(ROOT_CONFTEST)
    (pytester.path / "unit").mkdir()
    (pytester.path / "unit" / "conftest.py").write_text(UNIT_CONFTEST, encoding="utf-8")
    (pytester.path / "unit" / "test_sample.py").write_text(SAMPLE, encoding="utf-8")


def test_a_socket_in_the_fast_tier_fails_and_server_tests_are_left_out(pytester: pytest.Pytester) -> None:
    _tree(pytester)
    result = pytester.runpytest("--fast", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, deselected=2)
    result.stdout.fnmatch_lines(["*test_opens_a_socket opened a socket*it is not a unit test*"])


@pytest.mark.network  # its sample tests open sockets, which the unit tier refuses
def test_without_fast_server_tests_run_and_the_unit_folder_still_refuses_sockets(pytester: pytest.Pytester) -> None:
    _tree(pytester)
    (pytester.path / "integration").mkdir()
    (pytester.path / "integration" / "test_server.py").write_text(SAMPLE, encoding="utf-8")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(["FAILED unit/test_sample.py::test_opens_a_socket*"])
