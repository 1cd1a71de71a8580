"""Pure: the one reading of a date (``2026-11-19``) and of an instant in time. No I/O, no imports of the tool.

Every layer reads times through here: the registry's ``created`` (RFC 3339, nanoseconds allowed),
Marathon's versions and task times (``...Z``, ``+00:00`` or another offset, with or without
milliseconds), the ledger's and snapshot's own stamps (docs/how-it-works.md, "One reading of every time").
"""

from __future__ import annotations

import datetime as dt
import re


# The one spelling of a date (ASCII digits; \d takes any script's): 20261118 or 2026-W47-3 are
# ISO 8601 too, but sort and compare differently, so they are refused. Always used with fullmatch:
# ``$`` would let a trailing newline through.
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
# An instant a release, a version or a run can have: converting year 1 or 9999 to a time zone
# overflows, and neither is a real time (Go's zero time is year 1). Reproducible builds use 1970-01-01.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.timezone.utc)


def is_date(text: object) -> bool:
    """``YYYY-MM-DD`` in ASCII digits and nothing else (the calendar check is the caller's)."""
    return isinstance(text, str) and DATE_RE.fullmatch(text) is not None


def read_instant(value: object) -> dt.datetime | None:
    """An ISO-8601 instant in any spelling, in UTC; None for anything else.

    ASCII only, from 1970 to before 9000; an instant written without an offset is read as UTC
    (Marathon and the registry always write one; the tool's own files write ``Z``).
    """
    if not isinstance(value, str) or len(value) < 10 or not value.isascii() or not value[:4].isdigit():
        return None
    try:
        moment = dt.datetime.fromisoformat(value)  # fast, and most spellings since Python 3.11
    except ValueError:
        from dateutil.parser import isoparse  # loaded for the rare spelling only (20 ms of every start)
        try:
            moment = isoparse(value)  # the rest of ISO 8601 (dateutil's reading)
        except (ValueError, OverflowError):
            return None
    try:
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):
        return None
    return moment if EARLIEST <= moment < LATEST else None


def stamp_now(now: dt.datetime | None = None) -> str:
    """The UTC start time as ``YYYYMMDDTHHMMSSZ`` (file names sort in time order)."""
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return moment.strftime("%Y%m%dT%H%M%SZ")
