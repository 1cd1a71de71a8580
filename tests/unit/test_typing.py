"""The typing budget: `Any` stays within its budget (mypy --strict itself runs in
tests/integration/test_typing.py)."""

from __future__ import annotations

import re
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]


ANY_LIMIT = 40  # the typed core's budget: Marathon's own documents may stay dict[str, Any], little else


def test_any_stays_within_its_budget() -> None:
    """Lines of fleetrewind/ naming ``Any`` as a word (``grep -rw Any fleetrewind --include=*.py | wc -l``)."""
    word = re.compile(r"(?<![A-Za-z0-9_])Any(?![A-Za-z0-9_])")
    lines = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "fleetrewind").rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if word.search(line)]
    assert len(lines) <= ANY_LIMIT, f"{len(lines)} lines name Any (limit {ANY_LIMIT}): type them instead\n" + "\n".join(lines)
