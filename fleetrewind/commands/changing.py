"""What run, undo and deploy share: a rollout wired to its listeners (Slack, the report files), and its result."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .. import factory
from ..console import Console
from ..platform.protocol import Platform
from ..report.files import ReportFiles
from ..rollout.usecase import Result, Rollout
from ..settings.commands import DeploySettings, RunSettings, UndoSettings
from ..state.store import StateStore


def rollout(settings: RunSettings | UndoSettings | DeploySettings, console: Console, platform: Platform,
            store: StateStore, *, command: str, env: str, date: str | None = None, announce_states: bool = False,
            undoes: str | None = None) -> Rollout:
    """A rollout whose report goes to --dump (else the lock folder, else the temp folder, else stderr)."""
    options = factory.rollout_options(settings.rollout, dump=settings.common.dump, files=settings.files,
                                      marathon=settings.marathon, command=command, env=env,
                                      announce_states=announce_states)
    files = ReportFiles(options.dump, fallbacks=(options.lock_dir, Path(tempfile.gettempdir())),
                        warn=console.warn, error=console.error, plain=console.plain)
    return Rollout(options, console, platform, factory.notifier(settings.slack, console.warn), files, store=store,
                   date=date, undoes=undoes)


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
