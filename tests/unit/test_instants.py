"""One reading of dates and instants for every layer: the registry's created, Marathon's times, the tool's files."""

from __future__ import annotations

import datetime as dt

import pytest

from fleetrewind.instants import is_date, read_instant
from fleetrewind.platform.timeline import BadTimestamp, parse_instant

UTC = dt.timezone.utc
MOMENT = dt.datetime(2026, 11, 19, 10, 5, 0, 123000, tzinfo=UTC)

SAME_INSTANT = {
    "marathon": "2026-11-19T10:05:00.123Z",
    "offset-zero": "2026-11-19T10:05:00.123+00:00",
    "other-offset": "2026-11-19T11:05:00.123+01:00",
    "micro": "2026-11-19T10:05:00.123000Z",
    "nanoseconds": "2026-11-19T10:05:00.123000000Z",  # the registry's RFC 3339
    "basic-format": "20261119T100500.123Z",
    "space": "2026-11-19 10:05:00.123Z",
    "no-offset-is-utc": "2026-11-19T10:05:00.123",
}


@pytest.mark.parametrize("text", list(SAME_INSTANT.values()), ids=list(SAME_INSTANT))
def test_every_spelling_reads_as_the_same_utc_instant(text: str) -> None:
    assert read_instant(text) == MOMENT
    assert parse_instant(text) == MOMENT
    assert read_instant(text).tzinfo is UTC  # type: ignore[union-attr]


REFUSED = {
    "empty": "",
    "word": "yesterday",
    "number": "12345",
    "month-13": "2026-13-40T00:00:00Z",
    "full-width-digits": "２０２６-11-19T10:05:00Z",
    "arabic-indic-digits": "٢٠٢٦-11-19T10:05:00Z",
    "go-zero-time": "0001-01-01T00:00:00Z",
    "before-1970": "1969-12-31T23:59:59Z",
    "year-9999": "9999-12-31T23:59:59Z",
    "trailing-newline": "2026-11-19T10:05:00Z\n",
    "leading-space": " 2026-11-19T10:05:00Z",
}


@pytest.mark.parametrize("text", list(REFUSED.values()), ids=list(REFUSED))
def test_what_is_no_instant_is_none_or_refused(text: str) -> None:
    assert read_instant(text) is None
    with pytest.raises(BadTimestamp):
        parse_instant(text)


@pytest.mark.parametrize("value", [None, 1763546700, 1.5, ["2026-11-19T10:05:00Z"]])
def test_a_value_that_is_no_text_is_none(value: object) -> None:
    assert read_instant(value) is None


def test_the_range_holds_its_edges() -> None:
    assert read_instant("1970-01-01T00:00:00Z") == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert read_instant("8999-12-31T23:59:59Z") is not None


@pytest.mark.parametrize("text, ok", [
    ("2026-11-19", True), ("2026-02-30", True),  # the calendar check is the caller's
    ("2026-11-19\n", False), ("2026-11-19 ", False), ("20261119", False), ("2026-W47-3", False),
    ("2026-323", False), ("２０２６-11-19", False), ("19/11/2026", False), ("", False),
])
def test_a_date_is_yyyy_mm_dd_in_ascii_and_nothing_else(text: str, ok: bool) -> None:
    assert is_date(text) is ok
