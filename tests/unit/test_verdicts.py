"""Verdicts per version (planning/verdicts.py): table-driven, no I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from fleetrewind.platform.timeline import Definition, Interval, build_timeline
from fleetrewind.model.evidence import Deployed, Observation, Source, TaskFailure, Verdict
from fleetrewind.planning.verdicts import Witnesses, at, judge, judge_span, last_good

UTC = dt.timezone.utc
IMAGE = "registry.example.com/api:14-master"


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-11-19T{text}+00:00") if len(text) <= 8 else \
        dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def span(start: str, end: str | None, image: str = IMAGE) -> Interval:
    definition = Definition(version=t(start).isoformat(), at=t(start), image=image, instances=2, fields={})
    return Interval(t(start), t(end) if end else None, definition)


def seen(first: str, last: str, healthy: int = 2, image: str = IMAGE) -> Observation:
    return Observation("api", t(first).isoformat(), image, 2, healthy, 2, 0, t(first), t(last))


def deployed(finished: str, *, healthy: bool = True, rolled_back: bool = False) -> Deployed:
    return Deployed("api", IMAGE, "20261119T100000Z", t("10:00"), t(finished), healthy, 60.0, rolled_back)


def failure(version: str, when: str) -> TaskFailure:
    return TaskFailure(t(version), t(when), "TASK_KILLED")


CASES = [
    # (name, span, witnesses, verdict, source of the first evidence)
    ("seen healthy by get for 15 min", span("10:00", "18:00"), Witnesses(observations=(seen("10:05", "10:20"),)),
     Verdict.HEALTHY, Source.OBSERVATION),
    ("the tool saw it healthy, a get 20 min later too", span("10:00", "18:00"),
     Witnesses(deployed=(deployed("10:01"),), observations=(seen("10:21", "10:21"),)), Verdict.HEALTHY,
     Source.OBSERVATION),
    ("the tool rolled it back", span("10:00", "18:00"), Witnesses(deployed=(deployed("10:09", rolled_back=True),)),
     Verdict.FAILED, Source.JOURNAL),
    ("Marathon's last failure names it, never healthy", span("10:00", "18:00"),
     Witnesses(failures=(failure("10:00", "10:08"),)), Verdict.FAILED, Source.MARATHON),
    ("held 2.5 minutes, never seen healthy", span("10:00", "10:02:30"), Witnesses(), Verdict.SHORT_LIVED,
     Source.MARATHON),
    ("held a day, no evidence", span("10:00", "2026-11-20T10:00:00"), Witnesses(), Verdict.UNPROVEN,
     Source.MARATHON),
    ("seen healthy only 2 min", span("10:00", "18:00"), Witnesses(observations=(seen("10:05", "10:07"),)),
     Verdict.UNPROVEN, Source.MARATHON),
    ("a failure between two sightings breaks the soak", span("10:00", "18:00"),
     Witnesses(observations=(seen("10:05", "10:06"), seen("10:30", "10:31")), failures=(failure("10:00", "10:20"),)),
     Verdict.UNPROVEN, Source.MARATHON),
    ("healthy 20 min, then a failure: still healthy", span("10:00", "18:00"),
     Witnesses(observations=(seen("10:05", "10:25"),), failures=(failure("10:00", "11:00"),)), Verdict.HEALTHY,
     Source.OBSERVATION),
    ("a failure of another version says nothing", span("10:00", "18:00"),
     Witnesses(failures=(failure("09:00", "09:30"),)), Verdict.UNPROVEN, Source.MARATHON),
    ("not serving (1 of 2 healthy) is no sighting", span("10:00", "10:05"),
     Witnesses(observations=(seen("10:01", "10:04", healthy=1),)), Verdict.SHORT_LIVED, Source.MARATHON),
    ("another image's sighting says nothing", span("10:00", "10:05"),
     Witnesses(observations=(seen("10:01", "10:30", image="registry.example.com/api:13-master"),)),
     Verdict.SHORT_LIVED, Source.MARATHON),
    ("held now, seen healthy since 11 min", span("10:00", None), Witnesses(observations=(seen("10:49", "11:00"),)),
     Verdict.HEALTHY, Source.OBSERVATION),
]


@pytest.mark.parametrize("name, interval, witnesses, verdict, source", CASES, ids=[c[0] for c in CASES])
def test_verdicts(name: str, interval: Interval, witnesses: Witnesses, verdict: Verdict, source: Source) -> None:
    judged = judge_span(interval, witnesses, now=t("11:00"), tz=UTC, min_soak=600)
    assert judged.verdict == verdict
    assert judged.evidence[0].source == source and judged.evidence[0].detail


def test_min_soak_is_the_threshold() -> None:
    witnesses = Witnesses(observations=(seen("10:05", "10:10"),))
    assert judge_span(span("10:00", "18:00"), witnesses, now=t("19:00"), tz=UTC, min_soak=300).verdict == Verdict.HEALTHY
    assert judge_span(span("10:00", "18:00"), witnesses, now=t("19:00"), tz=UTC, min_soak=301).verdict == Verdict.UNPROVEN


def _timeline(*versions: tuple[str, str]) -> tuple[Definition, ...]:
    return tuple(Definition(version=t(v).isoformat(), at=t(v), image=f"registry.example.com/api:{tag}",
                            instances=2, fields={}) for v, tag in versions)


GOOD = [
    # (versions held, witnesses, moment, the tag the good rule picks or None)
    ("the newest healthy before the moment", (("08:00", "12-master"), ("09:00", "13-master"), ("10:00", "14-master")),
     Witnesses(observations=(seen("08:10", "08:40", image="registry.example.com/api:12-master"),
                             seen("09:10", "09:40", image="registry.example.com/api:13-master"))),
     "12:00", "13-master"),
    ("no healthy one: the newest unproven", (("08:00", "12-master"), ("09:00", "13-master"), ("10:00", "14-master")),
     Witnesses(failures=(failure("10:00", "10:05"),)), "12:00", "13-master"),
    ("a later healthy version does not count", (("08:00", "12-master"), ("09:00", "13-master")),
     Witnesses(observations=(seen("09:10", "09:40", image="registry.example.com/api:13-master"),)),
     "08:30", "12-master"),
    ("every version failed or short", (("08:00", "12-master"), ("08:01", "13-master"), ("08:03", "14-master")),
     Witnesses(failures=(failure("08:03", "09:05"),)), "12:00", None),
]


@pytest.mark.parametrize("name, versions, witnesses, moment, tag", GOOD, ids=[g[0] for g in GOOD])
def test_last_good(name: str, versions: tuple[tuple[str, str], ...], witnesses: Witnesses, moment: str,
                   tag: str | None) -> None:
    definitions = _timeline(*versions)
    timeline = build_timeline("/shop/prod/api", definitions, current=definitions[-1], max_versions=50)
    judgements = judge(timeline, witnesses, now=t("13:00"), tz=UTC, min_soak=600)
    good = last_good(judgements, t(moment))
    assert (good.image.rsplit(":", 1)[1] if good and good.image else None) == tag
    held = at(judgements, t(moment))
    assert held is not None and held.start is not None and held.start <= t(moment)


@pytest.mark.parametrize("kind", ["never-healthy", "failed-before", "no-good-version"])
def test_strict_refuses_the_serving_checks(kind: str) -> None:
    from fleetrewind.errors import RefusedError
    from fleetrewind.model.checks import Check, CheckKind
    from fleetrewind.model.plan import Plan
    from fleetrewind.planning.witness import refuse

    plan = Plan(env="prod", date="2026-11-19", steps=(), checks=(Check("api", CheckKind(kind), "why"),))
    refuse(plan, strict=False, with_config=False)  # a warning only
    with pytest.raises(RefusedError, match=f"--strict: {kind} for api"):
        refuse(plan, strict=True, with_config=False)


def test_get_records_changes_and_the_soak_not_every_read() -> None:
    from fleetrewind.planning.witnesses import worth_recording

    def read(at: str, healthy: int = 2) -> Observation:  # one get of an app holding one version
        return Observation("api", "2026-11-19T09:00:00.000Z", IMAGE, 2, healthy, 2, 0, t(at), t(at))

    first = read("10:00")
    assert worth_recording(None, first, min_soak=600) == first  # nothing known yet
    assert worth_recording(first, read("10:05"), min_soak=600) is None  # same state, soak not reached
    proved = worth_recording(first, read("10:11"), min_soak=600)
    assert proved is not None and (proved.first, proved.last) == (t("10:00"), t("10:11"))
    assert worth_recording(proved, read("12:00"), min_soak=600) is None  # already proved
    changed = read("12:05", healthy=1)
    assert worth_recording(proved, changed, min_soak=600) == changed  # a change is always written
    written, last = 0, None
    for minute in range(0, 240, 5):  # 48 gets of an unchanged app: two entries
        entry = worth_recording(last, read(f"{10 + minute // 60:02d}:{minute % 60:02d}"), min_soak=600)
        if entry is not None:
            written, last = written + 1, entry
    assert written == 2
