"""The run report (``report-<stamp>.json``) and its JUnit view for Jenkins (``junit-<stamp>.xml``).

The executor builds the report dict; this module only writes it, atomically. In JUnit every
service is a test case: Jenkins then shows which service failed, and why, on the build page.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..atomic import write_json, write_text

REPORT_FORMAT = 1
FAILED = frozenset({"failed", "rollback-failed", "interrupted"})
SKIPPED = frozenset({"skipped", "not-started"})
PASSED = frozenset({"succeeded", "unchanged", "rolled-back"})

# XML 1.0 cannot carry most control characters (an ANSI colour code in an error message would
# make the whole file unreadable to Jenkins), nor lone surrogates.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def stamp_now(now: dt.datetime | None = None) -> str:
    """The UTC start time as ``YYYYMMDDTHHMMSSZ`` (file names sort in time order)."""
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def write_report(folder: Path, report: dict[str, Any], stamp: str) -> Path:
    """Write ``report-<stamp>.json``; readers see the whole file or none of it."""
    path = folder / f"report-{stamp}.json"
    write_json(path, report)
    return path


def write_junit(folder: Path, report: dict[str, Any], stamp: str) -> Path:
    """Write ``junit-<stamp>.xml`` for Jenkins' ``junit`` step."""
    path = folder / f"junit-{stamp}.xml"
    write_text(path, junit_xml(report))
    return path


def _xml(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _time(seconds: Any) -> str:
    """Plain decimal seconds: Jenkins' schema rejects exponents such as ``1e-05``."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return "0.000"
    return f"{max(value, 0.0):.3f}" if value == value and value != float("inf") else "0.000"


def suite_name(report: dict[str, Any]) -> str:
    """``rollback prod 2026-11-19`` for run; ``rollback prod undo`` / ``rollback prod deploy`` otherwise."""
    return f"rollback {report.get('env', '?')} {report.get('date') or report.get('command', '?')}"


def _outcome(service: dict[str, Any]) -> str:
    """One of pass / failure / skipped / error (error: a status this writer does not know)."""
    status = service.get("status")
    if status in FAILED:
        return "failure"
    if service.get("action") == "no-release" or status in SKIPPED:
        return "skipped"
    return "pass" if status in PASSED else "error"


def _change(service: dict[str, Any]) -> str:
    text = f"{service.get('from') or '-'} -> {service.get('to') or '-'}"
    return text + (f" ({service['reason']})" if service.get("reason") else "")


def junit_xml(report: dict[str, Any]) -> str:
    """The JUnit document (one testsuite, one testcase per service) as text."""
    env = str(report.get("env", "?"))
    services = [s for s in report.get("services", []) if isinstance(s, dict)]
    outcomes = [_outcome(s) for s in services]
    suite = ET.Element("testsuite", {
        "name": _xml(suite_name(report)),
        "tests": str(len(services)),
        "failures": str(outcomes.count("failure")),
        "errors": str(outcomes.count("error")),
        "skipped": str(outcomes.count("skipped")),
        "time": _time(report.get("seconds")),
    })
    if report.get("started_at"):
        suite.set("timestamp", _xml(report["started_at"]))
    properties = ET.SubElement(suite, "properties")
    for key in ("command", "env", "date", "state", "exit_code", "actor", "marathon", "snapshot", "build_url"):
        if report.get(key) is not None:
            ET.SubElement(properties, "property", {"name": key, "value": _xml(report[key])})
    for service, outcome in zip(services, outcomes):
        case = ET.SubElement(suite, "testcase", {
            "classname": _xml(f"rollback.{env}"),
            "name": _xml(service.get("service", "?")),
            "time": _time(service.get("seconds")),
        })
        status = str(service.get("status"))
        error = service.get("error")
        if outcome == "failure":
            kind = service.get("failure_class") or status
            message = (str(error).splitlines() or [""])[0] if error else f"status {status}"
            node = ET.SubElement(case, "failure", {"message": _xml(message), "type": _xml(kind)})
            node.text = _xml(f"{status}: {_change(service)}\n{error or ''}".rstrip())
        elif outcome == "skipped":
            if service.get("action") == "no-release":
                why = f"no release at or before {report.get('date') or 'the date'}; left as is"
            else:
                why = str(error or service.get("reason") or status)
            ET.SubElement(case, "skipped", {"message": _xml(why)})
        elif outcome == "error":
            node = ET.SubElement(case, "error", {"message": _xml(f"unknown status {status!r}"), "type": "report"})
            node.text = _xml(_change(service))
        if outcome != "failure":
            ET.SubElement(case, "system-out").text = _xml(_change(service) + (f"; {status}" if status == "rolled-back" else ""))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
