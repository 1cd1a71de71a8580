"""The caps on what is read of long lists, as settings and pure rules (issue #22, item 10)."""

from __future__ import annotations

import datetime as dt

import pytest

from fleetrewind.marathon.history import newest
from fleetrewind.marathon.limits import DEFAULT_READ_CAP
from fleetrewind.platform.timeline import Definition, build_timeline
from fleetrewind.registry.scan import DEFAULT_MAX_TAGS
from tests.unit.test_settings import GET, PLAN, config, refused, settings  # noqa: F401


def test_the_caps_have_sane_defaults() -> None:
    assert settings(*PLAN).max_versions == DEFAULT_READ_CAP == 200
    assert settings(*GET).max_tags == DEFAULT_MAX_TAGS == 2000


@pytest.mark.parametrize("key", ["max_versions", "max_tags"])
@pytest.mark.parametrize("value", ["0", "-3", "'many'", "true", "1.5", "10000000000"])
def test_a_bad_cap_is_one_clear_error(config, key: str, value: str) -> None:
    message = refused(*(PLAN if key == "max_versions" else GET), config(f"{key}: {value}\n"))
    assert key in message and ("positive integer" in message or "must be int" in message)


def test_the_newest_versions_are_kept_whatever_the_list_order() -> None:
    listed = ["2026-11-19T10:00:02.000Z", "2026-11-19T10:00:00.000Z", "not-a-time", "2026-11-19T10:00:03Z",
              "2026-11-19T11:00:01+01:00"]
    assert newest(listed, 2) == ["2026-11-19T10:00:03Z", "2026-11-19T10:00:02.000Z"]
    assert newest(listed, 10)[-1] == "not-a-time"


def test_a_capped_timeline_says_why_it_is_short() -> None:
    at = dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc)
    stored = [Definition(version=f"2026-11-20T10:00:0{n}Z", at=at + dt.timedelta(seconds=n), image="r/api:1",
                         instances=1, fields={}) for n in range(3)]
    timeline = build_timeline("/p/api", stored, current=stored[-1], capped=(3, 20_000))
    assert not timeline.complete
    reason = timeline.short_reason(at - dt.timedelta(days=1), dt.timezone.utc)
    assert reason.startswith("only the newest 3 of its 20000 versions are read (max_versions)")
