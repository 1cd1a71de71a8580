"""Marathon's cap on running deployments, shared by the threads of a run (docs/how-it-works.md).

Marathon runs at most ``max_running_deployments`` deployments (a Marathon flag, default 100) and
answers 403 "Max number (N) of running deployments is achieved" to a write that would start
one more. It publishes the number nowhere else, so the cap comes from the config
(``max_deployments``) and is lowered by the first such 403. A deployment takes a slot from its
PUT until it leaves ``GET /v2/deployments``; deployments started by others take slots too.
"""

from __future__ import annotations

import itertools
import threading


class DeploymentSlots:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._cond = threading.Condition()
        self._tokens = itertools.count(1)
        # token -> (deployment id once the PUT answered, the moment it answered)
        self._ours: dict[int, tuple[str | None, float | None]] = {}
        self._others: set[str] = set()
        self._reads = 0
        self._full_until_read = 0  # a 403 said "full": take nothing before the next read

    def take(self) -> int | None:
        """A slot for one PUT, or None while Marathon has none free (or none has been counted yet)."""
        with self._cond:
            if self._reads == 0 or self._reads < self._full_until_read or self.in_use() >= self.cap:
                return None
            token = next(self._tokens)
            self._ours[token] = (None, None)
            return token

    @property
    def counted(self) -> bool:
        """True once a read of the deployments list has counted the slots in use."""
        return self._reads > 0

    def in_use(self) -> int:
        return len(self._others) + len(self._ours)

    def started(self, token: int, deployment_id: str | None, at: float) -> None:
        """The PUT answered with this deployment: it holds the slot until it leaves the list."""
        with self._cond:
            if deployment_id:
                self._ours[token] = (deployment_id, at)
                self._others.discard(deployment_id)  # a read sent while the PUT was answered counted it as another's
            else:
                self._free(token)  # no deployment to follow (a no-op change); the app is judged directly

    def release(self, token: int) -> None:
        """The PUT started nothing (refused, failed) or its deployment is over."""
        with self._cond:
            self._free(token)

    def refused(self, token: int, cap: int | None) -> None:
        """Marathon's 403 at its cap: learn the cap, and wait for the next read of the list."""
        with self._cond:
            if cap is not None and cap > 0:
                self.cap = min(self.cap, cap)
            self._full_until_read = self._reads + 1
            self._free(token)

    def observe(self, listed: set[str], read_at: float) -> None:
        """A fresh ``GET /v2/deployments`` (sent at ``read_at``): which slots are taken now."""
        with self._cond:
            self._reads += 1
            for token, (dep_id, at) in list(self._ours.items()):
                # a PUT answered before the read was sent is in the list unless its deployment is over
                if dep_id and at is not None and at <= read_at and dep_id not in listed:
                    del self._ours[token]
            mine = {dep_id for dep_id, _ in self._ours.values() if dep_id}
            self._others = listed - mine
            self._cond.notify(max(0, self.cap - self.in_use()))

    def finished(self, deployment_id: str) -> None:
        """Marathon's event stream says this deployment ended: its slot is free now."""
        with self._cond:
            self._others.discard(deployment_id)
            for token, (dep_id, _) in list(self._ours.items()):
                if dep_id == deployment_id:
                    del self._ours[token]
            self._cond.notify()

    def wait(self, timeout: float) -> None:
        """Until a slot may have come free, at most ``timeout`` seconds."""
        with self._cond:
            self._cond.wait(timeout)

    def _free(self, token: int) -> None:
        if self._ours.pop(token, None) is not None:
            self._cond.notify()
