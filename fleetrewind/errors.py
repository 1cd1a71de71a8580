"""The tool's errors. Each carries the exit code of the design and a message saying what to do.

Only ``cli.main`` turns them into an exit code; every other module raises.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4


class RollbackError(Exception):
    """Root of the tool's errors; ``str(err)`` is the one line the user sees."""

    exit_code = EXIT_FAILED


class UsageError(RollbackError):
    """Bad flag, bad value or bad input file (exit 2)."""

    exit_code = EXIT_USAGE


class RefusedError(RollbackError):
    """A precondition refused the work: a deployment in flight, a lock held (exit 3)."""

    exit_code = EXIT_REFUSED


class WriteFenced(RefusedError):
    """A change was not sent: the lock it was to be sent under could no longer be proved held at that moment."""


class UnreachableError(RollbackError):
    """A required service could not be reached or refused credentials (exit 4)."""

    exit_code = EXIT_UNREACHABLE


class AuthError(UnreachableError):
    """Credentials were missing or refused (exit 4)."""


class RegistryError(RollbackError):
    """The registry answered, but with something the tool cannot use (exit 1 unless subclassed)."""


class MarathonError(RollbackError):
    """Marathon answered with an error the tool cannot recover from."""

    def __init__(self, message: str, *, status: int | None = None, body: object = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class MarathonRejected(MarathonError):
    """Marathon refused an app definition (422): a configuration error, not a flaky deploy."""


class MarathonBadAnswer(MarathonError, UnreachableError):
    """Marathon (or something in front of it) answered with the wrong shape or for another app (exit 4)."""

    exit_code = EXIT_UNREACHABLE


class MarathonLocked(MarathonError, RefusedError):
    """A deployment already holds the app (409)."""

    exit_code = EXIT_REFUSED


class MarathonBusy(MarathonError):
    """Marathon runs as many deployments as it admits (403 "Max number (N) ..."): wait, it is not a permission problem."""

    def __init__(self, message: str, *, cap: int | None) -> None:
        super().__init__(message, status=403)
        self.cap = cap


class DeploymentFailed(RollbackError):
    """Some service did not reach its target (exit 1)."""
