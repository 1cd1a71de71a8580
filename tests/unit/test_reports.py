"""The run report and its JUnit view: counts, escaping, Jenkins' schema, atomic writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from fleetrewind.model.report import Report, Outcome, Summary
from fleetrewind.instants import stamp_now
from fleetrewind.report.run import junit_xml, write_junit, write_report
from fleetrewind.model.states import FailureClass, State, Status

SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "jenkins-junit.xsd")


def _service(name: str, status: str, action: str = "change", **extra: Any) -> Outcome:
    values: dict[str, Any] = {
        "service": name, "app_id": f"/ds/prod/{name}", "from_image": f"reg/{name}:2-master",
        "to_image": f"reg/{name}:1-master", "action": action, "reason": "released that day", "status": Status(status),
        "deployment_id": None, "seconds": 12.5, "error": None, "failure_class": None,
    }
    values.update(extra)
    if values["failure_class"] is not None:
        values["failure_class"] = FailureClass(values["failure_class"])
    return Outcome(**values)


def _report(services: list[Outcome], **changes: Any) -> Report:
    values: dict[str, Any] = {
        "command": "run", "env": "prod", "date": "2026-11-19", "actor": "alice", "build_url": None,
        "marathon": "https://marathon.example.com", "started_at": "2026-11-21T20:00:00Z",
        "finished_at": "2026-11-21T20:01:00Z", "seconds": 60.25, "state": State.FAILED, "exit_code": 1,
        "snapshot": "snapshot-20261121T200000Z.json", "states": (), "services": tuple(services),
        "summary": Summary(changed=1, failed=2, unchanged=1, skipped=2),
    }
    values.update(changes)
    return Report(**values)


EVERY_STATUS = [
    _service("api", "succeeded"),
    _service("web", "unchanged", action="unchanged", reason="unchanged", seconds=None),
    _service("batch", "skipped", action="no-release", to_image=None, reason="no release at or before the date"),
    _service("auth", "failed", error="deployment did not finish healthy within 600s\nlast task: TASK_FAILED",
             failure_class="deadline"),
    _service("cart", "not-started"),
    _service("mail", "interrupted", error="SIGTERM received"),
    _service("pay", "rolled-back", error="health check failed"),
    _service("ship", "rollback-failed", error="409 deployment locked", failure_class="locked"),
]


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in root.iter("testcase")}


def test_junit_counts_and_outcomes() -> None:
    text = junit_xml(_report(EVERY_STATUS))
    SCHEMA.validate(text)
    root = ET.fromstring(text)
    assert root.tag == "testsuite"
    assert root.attrib["name"] == "rollback prod 2026-11-19"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("8", "3", "0", "2")
    assert root.get("time") == "60.250" and root.get("timestamp") == "2026-11-21T20:00:00Z"
    cases = _cases(root)
    assert all(c.get("classname") == "rollback.prod" for c in cases.values())
    assert cases["api"].get("time") == "12.500" and cases["web"].get("time") == "0.000"

    for name in ("api", "web", "pay"):
        assert [child.tag for child in cases[name]] == ["system-out"], name
    assert cases["api"].findtext("system-out") == "reg/api:2-master -> reg/api:1-master (released that day)"
    assert cases["pay"].findtext("system-out").endswith("; rolled-back")

    failure = cases["auth"].find("failure")
    assert failure is not None
    assert failure.get("message") == "deployment did not finish healthy within 600s"
    assert failure.get("type") == "deadline"
    assert "last task: TASK_FAILED" in (failure.text or "")
    assert cases["mail"].find("failure").get("type") == "interrupted"  # type: ignore[union-attr]
    assert cases["ship"].find("failure").get("type") == "locked"  # type: ignore[union-attr]

    assert cases["batch"].find("skipped").get("message") == (  # type: ignore[union-attr]
        "no release at or before 2026-11-19; left as is")
    assert cases["cart"].find("skipped") is not None
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["state"] == "FAILED" and properties["snapshot"] == "snapshot-20261121T200000Z.json"


def test_junit_suite_name_for_undo_and_deploy() -> None:
    assert ET.fromstring(junit_xml(_report([], command="undo", date=None))).get("name") == "rollback prod undo"
    root = ET.fromstring(junit_xml(_report([], command="deploy", date=None, env="stage")))
    assert root.get("name") == "rollback stage deploy"
    assert root.get("tests") == "0"
    SCHEMA.validate(junit_xml(_report([], command="deploy", date=None)))


def test_junit_escapes_hostile_text() -> None:
    hostile = 'a<b>&"c\' ]]> \x1b[31mred\x1b[0m \x00'
    services = [_service("svc<&>\"'", "failed", error=hostile, failure_class="deadline"),
                _service("ok&", "succeeded", reason=hostile)]
    text = junit_xml(_report(services, env="prod", date="2026-11-19"))
    SCHEMA.validate(text)
    root = ET.fromstring(text)
    cases = _cases(root)
    failure = cases["svc<&>\"'"].find("failure")
    assert failure is not None
    assert failure.get("message") == 'a<b>&"c\' ]]> \ufffd[31mred\ufffd[0m \ufffd'
    assert failure.get("type") == "deadline"
    assert "\x1b" not in text and "\x00" not in text
    assert "&lt;b&gt;" in text


@pytest.mark.parametrize("seconds", [1e-05, 12345678.9, None, float("nan"), -1])
def test_junit_times_are_plain_decimals(seconds: float | None) -> None:
    text = junit_xml(_report([_service("api", "succeeded", seconds=seconds)], seconds=seconds))
    SCHEMA.validate(text)
    assert "e-" not in ET.fromstring(text).get("time", "")


def test_schema_rejects_what_jenkins_rejects() -> None:
    """The schema is not a rubber stamp: a suite without counts, or a time with an exponent, fails."""
    assert not SCHEMA.is_valid('<testsuite name="x" tests="1"><testcase name="a"/></testsuite>')
    assert not SCHEMA.is_valid('<testsuite name="x" tests="1" failures="0" errors="0" time="1e-05"/>')
    assert not SCHEMA.is_valid('<testsuite name="x" tests="1" failures="0" errors="0"><case/></testsuite>')


def test_write_junit_and_report_files(tmp_path: Path) -> None:
    report = _report(EVERY_STATUS)
    junit = write_junit(tmp_path, report, "20261121T200000Z")
    written = write_report(tmp_path, report, "20261121T200000Z")
    assert junit == tmp_path / "junit-20261121T200000Z.xml"
    assert written == tmp_path / "report-20261121T200000Z.json"
    SCHEMA.validate(str(junit))
    assert json.loads(written.read_text(encoding="utf-8")) == report.as_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == [junit.name, written.name]  # no temp files left


def test_report_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_report(tmp_path, _report([]), "20261121T200000Z")
    before = path.read_text(encoding="utf-8")
    with pytest.raises(TypeError):
        write_report(tmp_path, _report([], actor=object()), "20261121T200000Z")  # not JSON: nothing replaced

    def broken_link(src: str, dst: str, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", broken_link)  # a report is created by link, never by replace
    with pytest.raises(OSError):
        write_report(tmp_path, _report([_service("api", "succeeded")]), "20261121T200000Z")
    assert path.read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_stamp_now() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert stamp_now(dt.datetime(2026, 11, 21, 21, 5, 9, 123, tzinfo=paris)) == "20261121T200509Z"
    stamp = stamp_now()
    assert len(stamp) == 16 and stamp.endswith("Z") and stamp[8] == "T"
    assert dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")


def test_a_check_is_spelled_by_check_itself_in_the_report_and_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run report carries the same checks as plan --json: both take Check's own serialisation."""
    from fleetrewind.model.checks import Check
    from fleetrewind.model.plan import Plan
    from fleetrewind.planning.build import plan_json

    check = Check("api", "never-ran", "reg/api:1-master never ran")
    monkeypatch.setattr(Check, "as_dict", lambda self: {"service": self.service, "kind": self.kind,
                                                        "detail": self.detail, "spelled": "by Check"})
    report = _report(EVERY_STATUS, checks=(check,)).as_dict()
    plan = plan_json(Plan(env="prod", date="2026-11-19", steps=(), checks=(check,)))

    assert report["checks"] == plan["checks"] == [{"service": "api", "kind": "never-ran",
                                                   "detail": "reg/api:1-master never ran", "spelled": "by Check"}]
