"""What a rollout tells the world as it goes, and where its report goes: the rollout emits, others listen.

Slack (``notify/``) is one listener, the report files (``report/files.py``) the recorder; the
rollout knows neither, only these two shapes. Progress lines go to the ``report`` callable the
executor is handed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

from ..model.report import Report, ScopeReport
from ..model.states import State, Status


class Listener(Protocol):
    """What the use cases tell the team; implementations never raise."""

    def started(self, *, command: str, env: str, date: str | None, actor: str, changes: int, total: int,
                checks: Sequence[str] = (), scope: ScopeReport | None = None) -> None: ...

    def service_done(self, *, service: str, app_id: str | None, from_image: str | None, to_image: str | None,
                     status: Status, seconds: float | None, error: str | None) -> None: ...

    def state(self, *, command: str, env: str, state: State, detail: str) -> None: ...

    def finished(self, report: Report) -> None: ...


class Silent:
    """No one listens (Slack is not configured): say nothing."""

    def started(self, *, command: str, env: str, date: str | None, actor: str, changes: int, total: int,
                checks: Sequence[str] = (), scope: ScopeReport | None = None) -> None:
        pass

    def service_done(self, *, service: str, app_id: str | None, from_image: str | None, to_image: str | None,
                     status: Status, seconds: float | None, error: str | None) -> None:
        pass

    def state(self, *, command: str, env: str, state: State, detail: str) -> None:
        pass

    def finished(self, report: Report) -> None:
        pass


class Recorder(Protocol):
    """Keeps a finished run's report (and its JUnit view); says where the report went, None when nowhere."""

    def record(self, report: Report, stamp: str) -> Path | None: ...
