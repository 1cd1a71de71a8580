"""--at: a moment as ISO 8601 with an offset or a zone (settings.check_moment); table tests."""

from __future__ import annotations

import datetime as dt

import pytest

from fleetrewind.errors import UsageError
from fleetrewind.settings.values import check_moment

UTC = dt.timezone.utc


@pytest.mark.parametrize("text, expected", [
    ("2026-11-19T14:05Z", dt.datetime(2026, 11, 19, 14, 5, tzinfo=UTC)),
    ("2026-11-19T14:05:30+01:00", dt.datetime(2026, 11, 19, 13, 5, 30, tzinfo=UTC)),
    ("2026-11-19T14:05:30.250-0500", dt.datetime(2026, 11, 19, 19, 5, 30, 250000, tzinfo=UTC)),
    ("2026-11-19 14:05 Europe/Paris", dt.datetime(2026, 11, 19, 13, 5, tzinfo=UTC)),
    ("2026-07-19T14:05[Europe/Paris]", dt.datetime(2026, 7, 19, 12, 5, tzinfo=UTC)),  # summer time
    ("2026-11-19T14:05 UTC", dt.datetime(2026, 11, 19, 14, 5, tzinfo=UTC)),
])
def test_a_moment_with_its_offset_or_zone(text: str, expected: dt.datetime) -> None:
    assert check_moment(text) == expected


@pytest.mark.parametrize("text, message", [
    ("2026-11-19T14:05", "a time alone is ambiguous"),
    ("2026-11-19", "must be an ISO 8601 time"),
    ("yesterday", "must be an ISO 8601 time"),
    ("2026-11-19T25:05Z", "is not a valid time"),
    ("2026-11-19T14:05 Mars/Olympus", "unknown time zone"),
    ("２０２６-11-19T14:05Z", "must be an ISO 8601 time"),
])
def test_a_moment_that_cannot_be_placed_is_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_moment(text)
