"""Shared reads for a wave: one ``GET /v2/deployments`` per interval, ``GET /v2/queue`` while something waits.

While a service's deployment is still listed there is nothing to judge yet, so the threads of
a wave share this one cheap read instead of each reading its app (with all its tasks) on every
poll: that is most of the tool's CPU and of Marathon's load in a big wave. The same read counts
the deployments holding Marathon's slots. The launch queue only explains a wait, so it is read
only while a deployment has waited a while, and at most every ``queue_every`` seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping

from ..errors import MarathonError, UnreachableError
from ..marathon.appdef import Doc
from ..marathon.client import MarathonClient
from .slots import DeploymentSlots


@dataclass(frozen=True)
class View:
    ids: frozenset[str] | None = None  # running deployments; None when the read failed
    deployments: Mapping[str, Doc] = field(default_factory=dict)
    queue: Mapping[str, Doc] = field(default_factory=dict)  # app id -> launch queue entry

    def listed(self, deployment_id: str | None) -> bool:
        """True when Marathon lists this deployment as running (False when unsure: then look at the app)."""
        return bool(deployment_id) and self.ids is not None and deployment_id in self.ids


class WaveWatch:
    def __init__(self, client: MarathonClient, *, interval: float, clock: Callable[[], float],
                 slots: DeploymentSlots | None = None, queue_every: float = 2.0) -> None:
        self.client = client
        self.interval = interval
        self.clock = clock
        self.slots = slots
        self.queue_every = queue_every
        self._lock = threading.Lock()
        self._fetched = float("-inf")
        self._queue_fetched = float("-inf")
        self._queue_served = True
        self._view = View()

    def view(self, *, want_queue: bool = False) -> View:
        """The latest shared reads, refreshed when older than the interval."""
        with self._lock:
            if self.clock() - self._fetched >= self.interval:
                self._read_deployments()
            if want_queue and self._queue_served and self.clock() - self._queue_fetched >= self.queue_every:
                self._read_queue()
            return self._view

    def _read_deployments(self) -> None:
        sent = self.clock()
        try:
            found = self.client.deployments()
        except (UnreachableError, MarathonError):
            self._view = View(None, {}, self._view.queue)
        else:
            by_id = {str(d.get("id")): d for d in found}
            self._view = View(frozenset(by_id), by_id, self._view.queue)
            if self.slots is not None:
                self.slots.observe(set(by_id), sent)
        self._fetched = self.clock()

    def _read_queue(self) -> None:
        try:
            entries = self.client.queue()
        except (UnreachableError, MarathonError):
            entries = []
        if entries is None:  # this Marathon does not serve the queue: stop asking
            self._queue_served = False
            entries = []
        queue = {str((e.get("app") or {}).get("id")): e for e in entries if isinstance(e.get("app"), dict)}
        self._view = View(self._view.ids, self._view.deployments, queue)
        self._queue_fetched = self.clock()
