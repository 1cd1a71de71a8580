"""Time: a clock callable (seconds since the epoch) and Marathon's ISO-8601 timestamps.

Marathon parses every timestamp it is given with `OffsetDateTime.parse` and writes them back
as `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` (`src/main/scala/mesosphere/marathon/state/Timestamp.scala`):
any ISO-8601 spelling with an offset names the same instant, and the answer uses one spelling.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], float]
system_clock: Clock = time.time


def iso(seconds: float) -> str:
    """'2026-11-19T10:05:00.123Z': versions, stagedAt, timestamps, as Marathon writes them."""
    return iso_ms(int(round(seconds * 1000)))


def iso_ms(ms: int) -> str:
    stamp = datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms % 1000:03d}Z"


def parse_ms(text: str) -> int:
    """Milliseconds since the epoch of an ISO-8601 date-time with an offset ('Z', '+01:00');
    ValueError (Marathon: 'Invalid timestamp provided') when it has none or does not parse."""
    if not isinstance(text, str) or "T" not in text.upper():
        raise ValueError(text)
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        raise ValueError(text)  # OffsetDateTime.parse needs an offset
    delta = parsed - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def canonical_stamp(text: str) -> str:
    """The one spelling Marathon answers with, for any spelling of the same instant."""
    return iso_ms(parse_ms(text))


def invalid_timestamp(text: str) -> str:
    """Marathon's message for a timestamp that does not parse (Timestamp.apply)."""
    return f"Invalid timestamp provided '{text}'. Expecting ISO-8601 datetime string."


class VersionSource:
    """Strictly increasing version timestamps, so two changes in one millisecond differ."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last_ms = 0

    def next(self) -> str:
        ms = max(int(self._clock() * 1000), self._last_ms + 1)
        self._last_ms = ms
        return iso_ms(ms)

    def seen(self, stamp: str) -> None:
        """A version given from outside (an apps file): later ones come after it."""
        self._last_ms = max(self._last_ms, parse_ms(stamp))
