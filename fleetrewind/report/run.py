"""The run report (``report-<stamp>.json``) and its JUnit view for Jenkins (``junit-<stamp>.xml``).

The use case builds the :class:`~fleetrewind.model.report.Report`; this module only writes it, atomically. In JUnit every
service is a test case: Jenkins then shows which service failed, and why, on the build page.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Literal

from ..atomic import create_text
from ..model.states import BAD_STATUSES, Status
from ..model.report import Report, Outcome

SKIPPED = frozenset({Status.SKIPPED, Status.NOT_STARTED})

# XML 1.0 cannot carry most control characters (an ANSI colour code in an error message would
# make the whole file unreadable to Jenkins), nor lone surrogates.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_report(folder: Path, report: Report, stamp: str) -> Path:
    """Write ``report-<stamp>.json``; readers see the whole file or none of it."""
    path = create_text(folder, f"report-{stamp}", ".json", report.to_json() + "\n")
    return path


def write_junit(folder: Path, report: Report, stamp: str) -> Path:
    """Write ``junit-<stamp>.xml`` for Jenkins' ``junit`` step."""
    path = create_text(folder, f"junit-{stamp}", ".xml", junit_xml(report))
    return path


def _xml(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _time(seconds: float | None) -> str:
    """Plain decimal seconds: Jenkins' schema rejects exponents such as ``1e-05``."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "0.000"
    return f"{max(seconds, 0.0):.3f}"


def suite_name(report: Report) -> str:
    """``rollback prod 2026-11-19`` for run; ``rollback prod undo`` / ``rollback prod deploy`` otherwise."""
    return f"rollback {report.env} {report.date or report.command}"


def _outcome(service: Outcome) -> Literal["pass", "failure", "skipped"]:
    if service.status in BAD_STATUSES:
        return "failure"
    if service.action == "no-release" or service.status in SKIPPED:
        return "skipped"
    return "pass"


def _change(service: Outcome) -> str:
    text = f"{service.from_image or '-'} -> {service.to_image or '-'}"
    return text + (f" ({service.reason})" if service.reason else "")


def junit_xml(report: Report) -> str:
    """The JUnit document (one testsuite, one testcase per service, skipped when out of scope) as text."""
    services = report.services
    outcomes = [_outcome(s) for s in services]
    excluded = report.scope.excluded
    suite = ET.Element("testsuite", {
        "name": _xml(suite_name(report)),
        "tests": str(len(services) + len(excluded)),
        "failures": str(outcomes.count("failure")),
        "errors": "0",
        "skipped": str(outcomes.count("skipped") + len(excluded)),
        "time": _time(report.seconds),
    })
    if report.started_at:
        suite.set("timestamp", _xml(report.started_at))
    properties = ET.SubElement(suite, "properties")
    values = report.as_dict()
    for key in ("command", "env", "date", "state", "exit_code", "actor", "marathon", "snapshot", "build_url"):
        if values[key] is not None:
            ET.SubElement(properties, "property", {"name": key, "value": _xml(values[key])})
    if report.scope.line():
        ET.SubElement(properties, "property", {"name": "scope", "value": _xml(report.scope.line())})
    for service, outcome in zip(services, outcomes):
        case = ET.SubElement(suite, "testcase", {
            "classname": _xml(f"rollback.{report.env}"),
            "name": _xml(service.service),
            "time": _time(service.seconds),
        })
        status = service.status
        error = service.error
        if outcome == "failure":
            kind = service.failure_class or status
            message = (error.splitlines() or [""])[0] if error else f"status {status}"
            node = ET.SubElement(case, "failure", {"message": _xml(message), "type": _xml(kind)})
            node.text = _xml(f"{status}: {_change(service)}\n{error or ''}".rstrip())
        elif outcome == "skipped":
            if service.action == "no-release":
                why = f"no release at or before {report.date or 'the date'}; left as is"
            else:
                why = str(error or service.reason or status)
            ET.SubElement(case, "skipped", {"message": _xml(why)})
        if outcome != "failure":
            ET.SubElement(case, "system-out").text = _xml(
                _change(service) + (f"; {status}" if status == Status.ROLLED_BACK else ""))
    for service_name, why in excluded:  # never touched: shown so that Jenkins says what was out of scope
        case = ET.SubElement(suite, "testcase", {"classname": _xml(f"rollback.{report.env}"),
                                                 "name": _xml(service_name), "time": "0.000"})
        ET.SubElement(case, "skipped", {"message": _xml(f"excluded: {why}")})
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
