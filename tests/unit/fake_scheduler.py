"""An in-memory scheduler for the rollout's unit tests: the platform protocol (fleetrewind/platform/protocol.py)
with deployments that take ``deploy_seconds`` of the fake clock (tests/fake_time.py) and never a socket.

An image in ``unhealthy`` deploys but its tasks never pass their health checks; an image in ``rejected``
is refused as Marathon refuses a bad definition (422). Every change is logged, in order, as
``(app id, image, version)``.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from fleetrewind.errors import MarathonRejected, RollbackError, WriteFenced
from fleetrewind.platform.fleet import App, FleetState
from fleetrewind.platform.protocol import Judgement
from fleetrewind.platform.slots import DeploymentSlots
from tests.fake_time import FakeTime


@dataclass
class _Deployment:
    id: str
    image: str
    ends: float


class _View:
    def listed(self, deployment_id: str | None) -> bool:
        return False  # the executor then reads the app itself on every poll


class _Watch:
    """Each view is one read of the deployments list: it counts the slots in use, as Marathon's does."""

    def __init__(self, running: Callable[[], set[str]], clock: Callable[[], float], slots: DeploymentSlots) -> None:
        self.running, self.clock, self.slots = running, clock, slots

    def start(self, *, events: bool = False) -> "_Watch":
        return self

    def close(self) -> None:
        pass

    def view(self, *, want_queue: bool = False) -> _View:
        self.slots.observe(self.running(), self.clock())
        return _View()

    def started(self, deployment_id: str | None, at: float) -> None:
        pass

    def forget(self, deployment_id: str | None) -> None:
        pass

    def gone(self, deployment_id: str) -> threading.Event:
        return threading.Event()


@dataclass
class FakeScheduler:
    time: FakeTime
    images: dict[str, str]                       # app id -> the image it runs
    deploy_seconds: float = 2.0
    unhealthy: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)
    stored: dict[str, dict[str, str]] = field(default_factory=dict)  # app id -> version -> image it held
    unreadable: bool = False                     # apps() fails: the scheduler went away
    changes: list[tuple[str, str, str | None]] = field(default_factory=list)
    _deployments: dict[str, _Deployment] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self, app_id: str) -> App:
        deployment = self._deployments.get(app_id)
        running = deployment is not None and self.time.monotonic() < deployment.ends
        return {"id": app_id, "version": f"v-{len(self.changes)}",
                "container": {"type": "DOCKER", "docker": {"image": self.images[app_id]}},
                "deployments": [{"id": deployment.id}] if running and deployment else []}

    def fleet_of(self, app_ids: Mapping[str, str]) -> FleetState:
        return FleetState(app_ids=dict(app_ids), apps={s: self.app(a) for s, a in app_ids.items()},
                          images={s: self.images[a] for s, a in app_ids.items()},
                          problems={s: None for s in app_ids},
                          versions={s: f"stored-{self.images[a]}" for s, a in app_ids.items()})

    # --- the platform protocol, as far as a rollout uses it ------------------------------------------

    def apps(self, app_ids: Mapping[str, str]) -> FleetState:
        if self.unreadable:
            raise RollbackError("cannot reach Marathon at http://marathon.test (connection refused)")
        return self.fleet_of(app_ids)

    def change(self, app: App, image: str, *, version: str | None, force: bool,
               fence: Callable[[], bool] | None = None) -> str | None:
        app_id = str(app["id"])
        if fence is not None and not fence():  # as the transport does, as the PUT is written
            raise WriteFenced(f"PUT /v2/apps{app_id} was not sent to Marathon: the lock it was to be sent under "
                              "could no longer be proved held")
        if version is not None:
            image = self.stored[app_id][version]
        if image in self.rejected:
            raise MarathonRejected(f"Marathon refused the definition of {app_id} (422): bad image {image}")
        with self._lock:
            self.changes.append((app_id, image, version))
            self.images[app_id] = image
            deployment = _Deployment(f"d{len(self.changes)}", image, self.time.monotonic() + self.deploy_seconds)
            self._deployments[app_id] = deployment
        return deployment.id

    def read_app(self, app_id: str, *, timeout: float) -> App:
        return self.app(app_id)

    def judge(self, app: App, image: str, deployments: set[str]) -> Judgement:
        app_id = str(app["id"])
        deployment = self._deployments.get(app_id)
        over = deployment is None or self.time.monotonic() >= deployment.ends
        if not over:
            return Judgement(done=False, unhealthy=False, superseded=False, detail="deploying")
        if image in self.unhealthy:
            return Judgement(done=False, unhealthy=True, superseded=False, detail="0 of 2 tasks healthy")
        return Judgement(done=True, unhealthy=False, superseded=False, detail="2 of 2 tasks healthy")

    def watch(self, *, interval: float, clock: Callable[[], float], slots: DeploymentSlots) -> _Watch:
        return _Watch(self.running, clock, slots)

    def running(self) -> set[str]:
        now = self.time.monotonic()
        return {d.id for d in self._deployments.values() if now < d.ends}

    def why_stuck(self, app_id: str, app: App, view: object, deployment_id: str | None, now: object) -> str | None:
        return None

    def busy(self, app: App) -> list[str]:
        return []

    def changeable(self, app: App) -> bool:
        return True

    def slow_starts(self, fleet: FleetState, services: Sequence[str], timeout: float) -> list[str]:
        return []
