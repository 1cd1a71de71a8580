"""Room on the cluster and the launch queue (docs/simulator.md, "Capacity and the launch queue").

With a capacity, a new instance waits until an agent has the cpus and mem it asks for.
Each agent offers what it has free every `offer_interval_seconds`; an offer is declined for
the first reason that applies, in the order of Marathon's offer matcher, and the queue
reports the counts as `processedOffersSummary` (`api/v2/QueueResource.scala`,
`core/launchqueue/impl/OfferMatchStatistics.scala`, `docs/.../v2/types/queue.raml`).
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from .clock import iso
from .knobs import REASONS, Capacity
from .tasks import Task

EPSILON = 1e-9


class Cluster:
    def __init__(self, capacity: Capacity | None = None) -> None:
        self.capacity = capacity

    def agents(self) -> int:
        return self.capacity.agents if self.capacity else 3

    def free(self, placed: Iterable[Task]) -> list[tuple[float, float]]:
        """(cpus, mem) free per agent, given the tasks holding resources."""
        cap = self.capacity
        if cap is None:
            return [(math.inf, math.inf)] * self.agents()
        free = [[cap.cpus / cap.agents, cap.mem / cap.agents] for _ in range(cap.agents)]
        for task in placed:
            index = agent_index(task.slave_id)
            if 0 <= index < len(free):
                free[index][0] -= task.cpus
                free[index][1] -= task.mem
        return [(c, m) for c, m in free]

    def place(self, task: Task, free: list[tuple[float, float]]) -> int | None:
        """The agent that takes `task`, or None when none has room."""
        for index, (cpus, mem) in enumerate(free):
            if task.cpus <= cpus + EPSILON and task.mem <= mem + EPSILON:
                return index
        return None

    def reject_summary(self, task: Task, free: list[tuple[float, float]], offers: int,
                       decline: str | None) -> list[dict[str, Any]]:
        """[{reason, declined, processed}] over `offers` offers, every reason in the
        matcher's order; each offer stops at the first reason that declines it."""
        per_agent = [self._reason(task, f, decline) for f in free]
        rounds, extra = divmod(offers, max(len(per_agent), 1))
        reasons = [r for r in per_agent for _ in range(rounds)] + per_agent[:extra]
        summary, remaining = [], offers
        for reason in REASONS:
            declined = sum(1 for r in reasons if r == reason)
            summary.append({"reason": reason, "declined": declined, "processed": remaining})
            remaining -= declined
        return summary

    @staticmethod
    def _reason(task: Task, free: tuple[float, float], decline: str | None) -> str | None:
        if decline:
            return decline
        if task.cpus > free[0] + EPSILON:
            return "InsufficientCpus"
        if task.mem > free[1] + EPSILON:
            return "InsufficientMemory"
        return None

    def offers_since(self, since: float, now: float) -> int:
        """Offers processed for an instance waiting since `since` (one round at once)."""
        interval = self.capacity.offer_interval_seconds if self.capacity else 1.0
        return self.agents() * (1 + max(0, math.floor((now - since) / interval + EPSILON)))

    def last_offer_at(self, since: float, now: float) -> float:
        interval = self.capacity.offer_interval_seconds if self.capacity else 1.0
        return since + max(0, math.floor((now - since) / interval + EPSILON)) * interval


def agent_index(slave_id: str) -> int:
    try:
        return int(slave_id.rsplit("S", 1)[1])
    except (IndexError, ValueError):
        return -1


def agent_id(index: int) -> str:
    return f"sim-agent-S{index}"


def queue_entry(app: dict[str, Any], waiting: list[Task],
                delayed: list[tuple[Task, float, float]], cluster: Cluster,
                free: list[tuple[float, float]], now: float,
                decline: str | None) -> dict[str, Any]:
    """One QueueApp of GET /v2/queue: instances left to launch, why, since when."""
    since = min([t.queued_at for t in waiting] + [s for _, s, _ in delayed])
    left = max((until - now for _, _, until in delayed), default=0.0)
    summary: dict[str, Any] = {"processedOffersCount": 0, "unusedOffersCount": 0}
    if waiting:
        first = min(waiting, key=lambda t: t.queued_at)
        offers = cluster.offers_since(first.queued_at, now)
        rejects = cluster.reject_summary(first, free, offers, decline)
        summary = {"processedOffersCount": offers, "unusedOffersCount": offers,
                   "lastUnusedOfferAt": iso(cluster.last_offer_at(first.queued_at, now)),
                   "rejectSummaryLastOffers": rejects, "rejectSummaryLaunchAttempt": rejects}
    backing_off = bool(delayed) and not waiting
    return {"count": len(waiting) + len(delayed), "role": app.get("role", "*"),
            "since": iso(since),
            "delay": {"timeLeftSeconds": int(math.ceil(left - EPSILON)) if backing_off else 0,
                      "overdue": not backing_off},
            "processedOffersSummary": summary, "app": app}
