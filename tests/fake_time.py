"""A fake clock for the Executor's clock seam, shared with the simulator: no test waits on real time."""

from __future__ import annotations

import datetime as dt
import threading

EPOCH = 1_795_000_000.0  # 2026-11-18, an arbitrary fixed moment


class FakeTime:
    """Monotonic and wall time that move only when the code under test waits."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.elapsed = 0.0
        self.stop = stop or threading.Event()
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.elapsed

    def epoch(self) -> float:
        """Seconds since the epoch: the simulator's clock."""
        return EPOCH + self.elapsed

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.epoch(), dt.timezone.utc)

    def wait(self, seconds: float) -> bool:
        with self._lock:
            if not self.stop.is_set():
                self.elapsed += max(0.0, seconds)
        return self.stop.is_set()
