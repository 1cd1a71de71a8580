"""Time: a clock callable (seconds since the epoch) and Marathon's ISO-8601 ms timestamps."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], float]
system_clock: Clock = time.time


def iso(seconds: float) -> str:
    """'2026-11-19T10:05:00.123Z' (section 0): versions, stagedAt, timestamps."""
    ms = int(round(seconds * 1000))
    stamp = datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms % 1000:03d}Z"


class VersionSource:
    """Strictly increasing version timestamps, so two changes in one millisecond differ."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last_ms = 0

    def next(self) -> str:
        ms = max(int(self._clock() * 1000), self._last_ms + 1)
        self._last_ms = ms
        return iso(ms / 1000)
