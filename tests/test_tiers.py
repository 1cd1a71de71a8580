"""The unit tier stays socket-free: under --fast a test that opens a socket fails, and a server
fixture moves a test out of the tier (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8").replace(
    'pytest_plugins = ["tests.registry_fixtures"]', "")

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


def test_a_socket_in_the_fast_tier_fails_and_server_tests_are_left_out(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sample=SAMPLE)
    result = pytester.runpytest("--fast", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, deselected=2)
    result.stdout.fnmatch_lines(["*test_opens_a_socket opened a socket*it is not a unit test*"])


@pytest.mark.network  # its sample tests open sockets, which the fast tier refuses
def test_without_fast_every_test_runs_and_sockets_work(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sample=SAMPLE)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=4)
