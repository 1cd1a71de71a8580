"""The tool and the simulator type-check under mypy --strict (a subprocess; twine's standard)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.unit.test_typing import ROOT


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "fleetrewind", "marathonsim"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
