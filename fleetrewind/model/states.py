"""The words a run reports in: a service's status, the run's state, why a service failed.

They are ``StrEnum``s, so they compare equal to, and serialise as, the strings the report,
the ledger, JUnit and Slack have always carried (``"rolled-back"``, ``"ROLLBACK_FAILED"``).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """What happened to one service in a run (the report's ``services[].status``)."""

    NOT_STARTED = "not-started"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    ROLLED_BACK = "rolled-back"
    ROLLBACK_FAILED = "rollback-failed"


# A service in one of these may still have a deployment in flight: undo must then pass --force.
BAD_STATUSES = frozenset({Status.FAILED, Status.INTERRUPTED, Status.ROLLBACK_FAILED})


class State(StrEnum):
    """Where a whole run is (the report's ``state``; the ledger's ``state``)."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    NOTHING_TO_DO = "NOTHING_TO_DO"
    INTERRUPTED = "INTERRUPTED"
    ROLLING_BACK = "ROLLING_BACK"
    ROLLBACK_COMPLETED = "ROLLBACK_COMPLETED"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"


# The fleet then runs exactly what the run asked for: `run --to-last-good` may return to it.
GOOD_STATES = frozenset({State.SUCCEEDED, State.NOTHING_TO_DO})


class FailureClass(StrEnum):
    """Why a service failed (the report's ``services[].failure_class``; the config's ``rollback_on``)."""

    REJECTED = "rejected"  # Marathon refused the new definition (422)
    LOCKED = "locked"  # another deployment holds the app (409)
    DEADLINE = "deadline"  # not done within --timeout
    UNHEALTHY = "unhealthy"  # new tasks ran but failed their health checks until the deadline
    HEALTH_URL = "health-url"  # deploy's --health-url check failed
    UNREACHABLE = "unreachable"  # Marathon did not answer
    SUPERSEDED = "superseded"  # someone else changed the app's image meanwhile


DEFAULT_ROLLBACK_ON = frozenset({FailureClass.DEADLINE, FailureClass.UNHEALTHY, FailureClass.HEALTH_URL})
