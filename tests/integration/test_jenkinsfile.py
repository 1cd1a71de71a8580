"""The Jenkinsfiles through real tools: npm-groovy-lint (once for both files) and Debian groovy's
syntax check. The contract with the role and the command line is in tests/unit/test_jenkinsfile.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.unit.test_jenkinsfile import JENKINSFILES, ROOT


JAVA_HOME = Path("/usr/lib/jvm/java-17-openjdk-amd64")


NPM_GROOVY_LINT = ROOT / ".tools" / "npm" / "node_modules" / ".bin" / "npm-groovy-lint"


def _npm_groovy_lint() -> str:
    found = str(NPM_GROOVY_LINT) if NPM_GROOVY_LINT.exists() else shutil.which("npm-groovy-lint")
    if not found:
        pytest.fail("npm-groovy-lint is not installed: run `make test`, or "
                    "`mkdir -p .tools/npm && cd .tools/npm && npm install --no-audit --no-fund npm-groovy-lint@16.2.0`")
    return found


@pytest.mark.slow
def test_npm_groovy_lint_finds_no_error_in_either_jenkinsfile() -> None:
    result = subprocess.run([_npm_groovy_lint(), "--noserver", "--failon", "error",
                             *(str(p.relative_to(ROOT)) for p in JENKINSFILES)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, env=dict(os.environ, NO_COLOR="1"))
    output = result.stdout + result.stderr
    if "requires Node.js" in output or "Unsupported engine" in output:
        pytest.fail("this npm-groovy-lint needs a newer Node.js than the one installed; "
                    f"install npm-groovy-lint@16.2.0 (works on Node.js 20):\n{output[-2000:]}")
    assert result.returncode == 0, output[-6000:]
    assert "2 linted files" in re.sub(r"\x1b\[[0-9;]*m", "", output), output[-2000:]


@pytest.mark.slow
def test_groovy_parses_both_jenkinsfiles() -> None:
    groovy = shutil.which("groovy")
    if not groovy:
        pytest.fail("groovy is not installed: `make test` installs the Debian package (apt-get install groovy)")
    env = dict(os.environ)
    if JAVA_HOME.is_dir():
        env["JAVA_HOME"] = str(JAVA_HOME)
    script = 'args.each { new GroovyShell().parse(new File(it)); println "syntax OK: " + it }'

    result = subprocess.run([groovy, "-e", script, *map(str, JENKINSFILES)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("syntax OK") == 2, result.stdout + result.stderr
