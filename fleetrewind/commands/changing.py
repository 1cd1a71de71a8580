"""What run, undo and deploy share: their result on stdout, and a failure's reason last on stderr."""

from __future__ import annotations

from ..console import Console
from ..rollout.usecase import Result


def print_result(console: Console, result: Result, *, as_json: bool) -> None:
    """The outcome on stdout (a table per service, or the report as JSON), then, when the run changed
    something, ``to undo: ...`` as the last line of stdout; a failed run's reason is the last line of stderr."""
    report = result.report
    if as_json:
        console.result(report.to_json())
    else:
        for o in result.outcomes:
            line = f"{o.service:<20} {o.status:<16} {o.from_image or '-'} -> {o.to_image or '-'}"
            if o.error:
                line += f"  ({o.error})"
            console.result(line)
        console.result(f"{result.state}: {report.summary.line()}")
        scope = report.scope.line()
        if scope:
            console.result(scope)
        if report.undo:
            console.result(f"to undo: {report.undo}")
    if result.exit_code:
        console.error(report.reason())
