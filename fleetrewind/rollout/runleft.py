"""What the run that wrote a snapshot left each app on: its report, next to the snapshot.

The run's report (``report-<stamp>.json`` in the snapshot's folder, naming the snapshot) says
each service's status, its ``from`` and ``to`` images. A report is read back as untrusted
input: a file that is not a usable report is skipped, and its images are checked as images.
"""

from __future__ import annotations

from pathlib import Path
from ..errors import UsageError
from ..inputs import loads, read_text
from ..planning.undo import Left
from ..model.imageref import parse_image

MAX_REPORTS = 2000  # report files looked at, newest first: a folder of years of runs is not read whole


def run_left(snapshot: Path) -> dict[str, Left] | None:
    """service -> what the run left, from the report naming ``snapshot``; None when there is none."""
    reports = sorted(snapshot.parent.glob("report-*.json"), reverse=True)[:MAX_REPORTS]
    for path in reports:
        data = _read(path)
        if not isinstance(data, dict):
            continue
        named, services = data.get("snapshot"), data.get("services")
        if isinstance(named, str) and Path(named).name == snapshot.name and isinstance(services, list):
            return {str(e["service"]): Left(str(e.get("status")), _image(e.get("from")), _image(e.get("to")))
                    for e in services if isinstance(e, dict) and isinstance(e.get("service"), str)}
    return None


def _read(path: Path) -> object:
    try:
        return loads(read_text(path))
    except (OSError, ValueError):
        return None


def _image(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        parse_image(value)
    except (UsageError, ValueError):
        return None
    return value
