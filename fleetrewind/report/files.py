"""Where a finished run's report goes: ``report-<stamp>.json`` and ``junit-<stamp>.xml`` (the rollout's recorder).

Nothing is lost: when --dump cannot take the report it goes to the next folder that can, and when
none can it is printed on stderr; the user is told where it went.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from ..model.report import Report
from .run import write_junit, write_report

Say = Callable[[str], None]


class ReportFiles:
    """The report in ``dump``, else in each of ``fallbacks`` in turn, else on stderr; JUnit in ``dump``."""

    def __init__(self, dump: Path, *, fallbacks: Sequence[Path], warn: Say, error: Say, plain: Say) -> None:
        self.dump = dump
        self.fallbacks = tuple(fallbacks)
        self.warn, self.error, self.plain = warn, error, plain

    def record(self, report: Report, stamp: str) -> Path | None:
        path = self._write_report(report, stamp)
        try:
            write_junit(self.dump, report, stamp)
        except OSError as exc:
            self.warn(f"could not write the JUnit file to {self.dump}: {exc.strerror}")
        return path

    def _write_report(self, report: Report, stamp: str) -> Path | None:
        problems: list[str] = []
        for folder in (self.dump, *self.fallbacks):
            try:
                path = write_report(folder, report, stamp)
            except OSError as exc:
                problems.append(f"{folder}: {exc.strerror or type(exc).__name__}")
                continue
            if problems:
                self.warn(f"could not write the report to {'; '.join(problems)}; it was written to {path} instead")
            return path
        self.error(f"could not write the report anywhere ({'; '.join(problems)}); here it is:")
        self.plain(report.to_json())
        return None
