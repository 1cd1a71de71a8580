"""The folder is the tier: in tests/unit a socket connect or bind fails the test, and a test that
uses a server fixture there stops the run at collection (tests/conftest.py, tests/unit/conftest.py).
The sample runs in a pytester folder laid out like tests/; the half that opens sockets is in
tests/integration/test_tiers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT_CONFTEST = (Path(__file__).parents[1] / "conftest.py").read_text(encoding="utf-8")
UNIT_CONFTEST = (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8")

UNIT_SAMPLE = '''
import socket


def test_pure():
    assert 1 + 1 == 2


def test_opens_a_socket():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
'''

SERVER_SAMPLE = '''
import socket

import pytest


@pytest.fixture
def registry():
    return "a server fixture (a stand-in here)"


def test_with_a_server(registry):
    assert registry


@pytest.mark.network
def test_marked_network():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
'''


def tree(pytester: pytest.Pytester, unit: str, integration: str = "") -> None:
    """A root conftest, a unit tier and an integration tier, as in tests/."""
    pytester.makeconftest(ROOT_CONFTEST)
    for folder, sample in (("unit", unit), ("integration", integration)):
        (pytester.path / folder).mkdir()
        if folder == "unit":
            (pytester.path / folder / "conftest.py").write_text(UNIT_CONFTEST, encoding="utf-8")
        if sample:
            (pytester.path / folder / f"test_{folder}_sample.py").write_text(sample, encoding="utf-8")


def test_a_socket_in_the_unit_tier_fails_the_test(pytester: pytest.Pytester) -> None:
    tree(pytester, UNIT_SAMPLE)
    result = pytester.runpytest("unit", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_opens_a_socket opened a socket*it is not a unit test*"])


def test_a_server_test_in_the_unit_tier_stops_the_run(pytester: pytest.Pytester) -> None:
    tree(pytester, SERVER_SAMPLE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*sit in tests/unit; move them to tests/integration: "
                                 "unit/test_unit_sample.py::test_with_a_server, "
                                 "unit/test_unit_sample.py::test_marked_network*"])


def test_fast_runs_only_the_unit_folder(pytester: pytest.Pytester) -> None:
    tree(pytester, "def test_pure():\n    pass\n", SERVER_SAMPLE)
    pytester.runpytest("--fast", "-p", "no:cacheprovider").assert_outcomes(passed=1, deselected=2)
