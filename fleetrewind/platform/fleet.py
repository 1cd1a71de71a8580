"""What a scheduler runs now for a set of services, and what its history says: values any platform fills in."""

from __future__ import annotations

from dataclasses import dataclass, field
from .timeline import Definition, Timeline

App = dict[str, object]  # one app as its platform sends it: only that platform reads inside it


@dataclass(frozen=True)
class FleetState:
    app_ids: dict[str, str]
    apps: dict[str, App]
    images: dict[str, str | None]
    problems: dict[str, str | None]  # service -> why its app is not healthy at rest (None when it is)
    versions: dict[str, str | None]  # service -> the name of its whole current definition in the history
    changed_at: dict[str, str] = field(default_factory=dict)  # service -> its last configuration change, as said

    def merged(self, other: FleetState) -> FleetState:
        return FleetState(app_ids={**self.app_ids, **other.app_ids}, apps={**self.apps, **other.apps},
                          images={**self.images, **other.images}, problems={**self.problems, **other.problems},
                          versions={**self.versions, **other.versions},
                          changed_at={**self.changed_at, **other.changed_at})


@dataclass(frozen=True)
class AppCounts:
    """What status shows of one app, as its platform reads it (nothing known: None)."""

    instances: int | None = None
    running: int | None = None
    healthy: int | None = None
    health_checks: bool = False
    deployments: tuple[str, ...] = ()  # the ids of the deployments the app names


@dataclass(frozen=True)
class Peek:
    """One service's app as far as it could be read (read-only, best effort)."""

    app_id: str | None
    app: App | None
    problem: str | None = None
    image: str | None = None
    counts: AppCounts = field(default_factory=AppCounts)


@dataclass(frozen=True)
class Deployment:
    """One deployment in flight, as far as status shows it."""

    id: str
    started: str | None  # when it started, as the platform says it (read with instants.read_instant)
    apps: tuple[str, ...]  # the app ids it changes


@dataclass(frozen=True)
class History:
    timelines: dict[str, Timeline]          # service -> timeline
    current: dict[str, Definition]          # service -> the definition the app holds now
    max_versions: int
    requests: int                           # version lists + definitions read from the platform
