"""Outside tests/unit sockets work: the integration tier runs its servers (tests/unit/test_tiers.py
has the unit half)."""

from __future__ import annotations

import pytest
from tests.unit.test_tiers import SERVER_SAMPLE, UNIT_SAMPLE, tree

pytest_plugins = ["pytester"]


@pytest.mark.network  # its sample tests open sockets, which the unit tier refuses
def test_sockets_work_in_the_integration_tier_and_not_in_the_unit_tier(pytester: pytest.Pytester) -> None:
    tree(pytester, UNIT_SAMPLE, SERVER_SAMPLE + UNIT_SAMPLE.replace("import socket\n", ""))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["FAILED unit/test_unit_sample.py::test_opens_a_socket*"])
