"""Throttled progress lines for long work: what, how far, how long."""

from __future__ import annotations

import threading
import time
from typing import Callable


class Progress:
    """Counts steps done out of a total and reports at most every ``every`` seconds (and at the end)."""

    def __init__(self, what: str, total: int, report: Callable[[str], None], *, every: float = 1.0) -> None:
        self.what = what
        self.total = total
        self.done = 0
        self.report = report
        self.every = every
        self.started = time.monotonic()
        self._last = 0.0
        self._lock = threading.Lock()

    def step(self, n: int = 1, note: str = "") -> None:
        with self._lock:
            self.done += n
            now = time.monotonic()
            if self.done < self.total and now - self._last < self.every:
                return
            self._last = now
            done, total = self.done, self.total
        pct = f" ({100 * done // total}%)" if total else ""
        self.report(f"{self.what}: {done}/{total}{pct}{' ' + note if note else ''}")

    def finish(self, note: str = "") -> None:
        elapsed = time.monotonic() - self.started
        self.report(f"{self.what}: {self.done}/{self.total} done in {elapsed:.1f}s{' ' + note if note else ''}")
