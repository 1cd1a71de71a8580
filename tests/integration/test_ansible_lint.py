"""ansible-lint (offline, production profile from .ansible-lint) passes on the playbook, role and inventories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ansible_lint() -> str:
    beside_python = Path(sys.executable).parent / "ansible-lint"
    found = str(beside_python) if beside_python.exists() else shutil.which("ansible-lint")
    if not found:
        pytest.fail("ansible-lint is not installed: `make test` installs it (requirements-dev.txt)")
    return found


@pytest.mark.slow
def test_ansible_lint_passes_offline_with_the_production_profile() -> None:
    config = (ROOT / ".ansible-lint").read_text()
    assert "offline: true" in config and "profile: production" in config
    env = dict(os.environ, NO_COLOR="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")

    result = subprocess.run([_ansible_lint(), "--offline", "ansible/"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr
