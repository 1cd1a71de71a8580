"""Shared reads for a wave: one ``GET /v2/deployments`` per interval, ``GET /v2/queue`` while something waits.

While a service's deployment is still listed there is nothing to judge yet, so the threads of
a wave share this one cheap read instead of each reading its app (with all its tasks) on every
poll: that is most of the tool's CPU and of Marathon's load in a big wave. The same read counts
the deployments holding Marathon's slots. The launch queue only explains a wait, so it is read
only while a deployment has waited a while, and at most every ``queue_every`` seconds.

With ``start()`` a background thread reads the list every interval, and a thread waiting for
a deployment is woken as soon as a read no longer lists it (``gone()``): a finished deployment
is noticed within one interval, not at the waiting thread's next, longer, poll.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping

from ..errors import MarathonError, UnreachableError
from ..marathon.appdef import Doc
from ..marathon.client import EventsGivenUp, MarathonClient
from ..marathon.events import DEPLOYMENT_ENDS
from ..platform.slots import DeploymentSlots

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class View:
    ids: frozenset[str] | None = None  # running deployments; None when the read failed
    deployments: Mapping[str, Doc] = field(default_factory=dict)
    queue: Mapping[str, Doc] = field(default_factory=dict)  # app id -> launch queue entry

    def listed(self, deployment_id: str | None) -> bool:
        """True when Marathon lists this deployment as running (False when unsure: then look at the app)."""
        return bool(deployment_id) and self.ids is not None and deployment_id in self.ids


class EventFeed:
    """Deployment ends from Marathon's event stream while it works; on any error the watch polls again."""

    READ_TIMEOUT = 300.0  # an idle stream this long is given up (the list is still read, more slowly)

    def __init__(self, client: MarathonClient, on_end: Callable[[str], None]) -> None:
        self.client = client
        self.on_end = on_end
        self.alive = threading.Event()
        self._closed = threading.Event()

    def start(self) -> "EventFeed":
        threading.Thread(target=self._run, name="marathon-events", daemon=True).start()
        return self

    def close(self) -> None:
        # Closing the response from here would block on the reader's lock until its read returns:
        # the reader thread (a daemon) ends itself at its next event or read timeout.
        self._closed.set()
        self.alive.clear()

    def _run(self) -> None:
        try:
            stream = self.client.events(DEPLOYMENT_ENDS, read_timeout=self.READ_TIMEOUT)
            if self._closed.is_set():
                return
            self.alive.set()
            for event in stream:
                if self._closed.is_set():
                    return
                if event.type in DEPLOYMENT_ENDS and event.deployment_id:
                    self.on_end(event.deployment_id)
        except EventsGivenUp as err:
            log.warning("%s", err)  # once per run: the client does not open the stream again
        except (UnreachableError, MarathonError) as err:
            if not self._closed.is_set():
                log.debug("polling /v2/deployments again: %s", err)
        finally:
            self.alive.clear()


class WaveWatch:
    # while the event stream works, the list is read only this often (it still counts others' deployments)
    SLOW_INTERVAL = 5.0

    def __init__(self, client: MarathonClient, *, interval: float, clock: Callable[[], float],
                 slots: DeploymentSlots | None = None, queue_every: float = 2.0) -> None:
        self.client = client
        self.poll_interval = interval
        self.clock = clock
        self.slots = slots
        self.queue_every = queue_every
        self._lock = threading.Lock()
        self._fetched = float("-inf")
        self._queue_fetched = float("-inf")
        self._queue_served = True
        self._reading = False
        self._view = View()
        self._gone: dict[str, threading.Event] = {}
        self._started: dict[str, float] = {}  # deployments started after the last read was sent
        self._closed = threading.Event()
        self._feed: EventFeed | None = None

    @property
    def interval(self) -> float:
        return self.SLOW_INTERVAL if self._feed is not None and self._feed.alive.is_set() else self.poll_interval

    def start(self, *, events: bool = False) -> "WaveWatch":
        """Read the deployments list every interval in the background, until ``close()``; with
        ``events``, also follow Marathon's event stream for deployments that end."""
        if events:
            self._feed = EventFeed(self.client, self._ended).start()
        threading.Thread(target=self._tick, name="deployments-watch", daemon=True).start()
        return self

    def close(self) -> None:
        self._closed.set()
        if self._feed is not None:
            self._feed.close()

    def _tick(self) -> None:
        while not self._closed.wait(self.poll_interval):
            self.view()

    def _ended(self, deployment_id: str) -> None:
        """The event stream says this deployment ended: drop it from the view, free its slot, wake its waiter."""
        with self._lock:
            self._started.pop(deployment_id, None)
            view = self._view
            if view.ids is not None and deployment_id in view.ids:
                deployments = {k: v for k, v in view.deployments.items() if k != deployment_id}
                self._view = View(view.ids - {deployment_id}, deployments, view.queue)
            event = self._gone.get(deployment_id)
        if self.slots is not None:
            self.slots.finished(deployment_id)
        if event is not None:
            event.set()

    def gone(self, deployment_id: str) -> threading.Event:
        """Set when a read no longer lists this deployment (the waiter clears it after waking)."""
        with self._lock:
            return self._gone.setdefault(deployment_id, threading.Event())

    def started(self, deployment_id: str | None, at: float) -> None:
        """A PUT of this wave answered with this deployment: listed until a read or an event says it ended."""
        if not deployment_id:
            return
        with self._lock:
            self._started[deployment_id] = at
            view = self._view
            if view.ids is not None and deployment_id not in view.ids:
                self._view = View(view.ids | {deployment_id}, view.deployments, view.queue)

    def forget(self, deployment_id: str | None) -> None:
        with self._lock:
            self._gone.pop(deployment_id or "", None)

    def view(self, *, want_queue: bool = False) -> View:
        """The latest shared reads, refreshed when older than the interval.

        One thread reads while the others go on with the view they have: a slow or failing
        Marathon (reads are retried) must not hold every thread of the wave past its deadline.
        """
        with self._lock:
            read_list = self.clock() - self._fetched >= self.interval and not self._reading
            read_queue = (want_queue and self._queue_served and not self._reading
                          and self.clock() - self._queue_fetched >= self.queue_every)
            if not (read_list or read_queue):
                return self._view
            self._reading = True
        try:
            if read_list:
                self._read_deployments()
            if read_queue:
                self._read_queue()
        finally:
            with self._lock:
                self._reading = False
        return self._view

    def _read_deployments(self) -> None:
        sent = self.clock()
        try:
            found = self.client.deployments()
        except (UnreachableError, MarathonError):
            with self._lock:
                self._view = View(None, {}, self._view.queue)
                self._fetched = self.clock()
            return
        by_id = {str(d.get("id")): d for d in found}
        with self._lock:
            # a deployment started while the read was on its way may be missing from it: keep it listed
            self._started = {i: at for i, at in self._started.items() if at > sent}
            self._view = View(frozenset(by_id) | frozenset(self._started), by_id, self._view.queue)
            self._fetched = self.clock()
            waiting = [event for deployment_id, event in self._gone.items() if deployment_id not in by_id]
        if self.slots is not None:
            self.slots.observe(set(by_id), sent)
        for event in waiting:
            event.set()

    def _read_queue(self) -> None:
        try:
            entries = self.client.queue()
        except (UnreachableError, MarathonError):
            entries = []
        queue = {str((e.get("app") or {}).get("id")): e for e in entries or [] if isinstance(e.get("app"), dict)}
        with self._lock:
            if entries is None:  # this Marathon does not serve the queue: stop asking
                self._queue_served = False
            self._view = View(self._view.ids, self._view.deployments, queue)
            self._queue_fetched = self.clock()
