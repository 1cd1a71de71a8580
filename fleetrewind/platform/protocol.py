"""What the tool needs of a scheduler: read the fleet, read an app's stored versions, change an image or
a whole definition, watch a deployment, say why it is stuck.

Planning and the rollout speak to this protocol only; ``marathon/platform.py`` is its one
implementation today. Another scheduler (a Kubernetes Deployment backend, say) is another folder
implementing it. Errors are the tool's own (``errors.py``): a busy scheduler raises MarathonBusy,
a locked app MarathonLocked, a refused definition MarathonRejected, an unreachable one UnreachableError.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, Sequence

from ..model.evidence import Observation
from .fleet import App, Deployment, FleetState, History, Peek
from .slots import DeploymentSlots
from .timeline import Failed


@dataclass(frozen=True)
class Judgement:
    """Is a service's deployment over, and healthy on its target?"""

    done: bool
    unhealthy: bool
    superseded: bool  # someone else changed the app meanwhile
    detail: str
    not_yet: int = 0  # new running tasks still inside their health grace period or not checked yet


@dataclass(frozen=True)
class Chosen:
    """A target the history chose: the stored version of the app that holds it (confirmed before a change)."""

    service: str
    app_id: str
    version: str
    image: str


class View(Protocol):
    """One shared read of what the scheduler is deploying (for every service of a wave)."""

    def listed(self, deployment_id: str | None) -> bool:
        """True when the scheduler lists this deployment as running (False when unsure)."""


class Watch(Protocol):
    """A wave's shared watch on the scheduler's deployments (one read per interval for all its services)."""

    def start(self, *, events: bool = False) -> Watch: ...

    def close(self) -> None: ...

    def view(self, *, want_queue: bool = False) -> View: ...

    def started(self, deployment_id: str | None, at: float) -> None: ...

    def forget(self, deployment_id: str | None) -> None: ...

    def gone(self, deployment_id: str) -> threading.Event:
        """Set as soon as a read no longer lists the deployment."""


class Platform(Protocol):
    """A scheduler, with the environment and the app mapping it was opened for."""

    def fleet(self, services: Sequence[str]) -> FleetState:
        """Each service's app as it runs now (exit 2 when a service maps to no app, or to several)."""

    def apps(self, app_ids: Mapping[str, str]) -> FleetState:
        """These apps as they run now (undo and revert know their app ids)."""

    def survey(self, services: Sequence[str]) -> FleetState:
        """The services' apps that map, from one read of them all with what ``observe`` needs (get)."""

    def deployments(self) -> list[Deployment]:
        """The deployments in flight now."""

    def peek(self, services: Sequence[str]) -> dict[str, Peek]:
        """Each service's app as far as it can be read (read-only, best effort)."""

    def history(self, app_ids: Mapping[str, str], apps: Mapping[str, App], *,
                failed: Mapping[str, Sequence[Failed]]) -> History:
        """Every app's stored versions as a timeline; an unreadable history says why, never raises."""

    def confirm(self, chosen: Sequence[Chosen]) -> None:
        """Each chosen stored version holds its image, read from the scheduler itself; else UsageError (exit 2)
        and the version cache forgotten, before any change."""

    def change(self, app: App, image: str, *, version: str | None, force: bool,
               fence: Callable[[], bool] | None = None) -> str | None:
        """Put ``image`` on the app (with ``version``: that whole stored definition); the deployment's id.

        ``fence`` is asked as the change is sent: False, and nothing is sent (``errors.WriteFenced``)."""

    def read_app(self, app_id: str, *, timeout: float) -> App: ...

    def judge(self, app: App, image: str, deployments: set[str]) -> Judgement: ...

    def watch(self, *, interval: float, clock: Callable[[], float], slots: DeploymentSlots) -> Watch: ...

    def why_stuck(self, app_id: str, app: App, view: View, deployment_id: str | None,
                  now: dt.datetime) -> str | None:
        """Why the deployment still waits, in words a person acts on (None when nothing is known)."""

    def busy(self, app: App) -> list[str]:
        """The deployments in flight for the app."""

    def changeable(self, app: App) -> bool:
        """Can the tool change this app's image at all (a Docker container)?"""

    def holds(self, app_id: str, app: App, version: str) -> bool:
        """Does the app hold the stored definition ``version`` (whatever its own version string says)?"""

    def observe(self, service: str, app: App, now: dt.datetime) -> Observation | None:
        """What the app shows now of the version it runs: its tasks' health, its last task failure."""

    def slow_starts(self, fleet: FleetState, services: Sequence[str], timeout: float) -> list[str]:
        """Warnings for apps whose health grace outlasts --timeout."""
