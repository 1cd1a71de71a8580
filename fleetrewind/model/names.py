"""Pure checks of the names every layer reads: environments and services.

They live in the model (the lowest floor) so that parsing a journal or a snapshot needs nothing above it.
"""

from __future__ import annotations

import re

from ..errors import UsageError
from ..secret import shorten
from .imageref import REPO_RE

ENV_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", re.ASCII)
MAX_ENV = 63
SERVICE_RE = REPO_RE  # a service is a Docker repository path (lower case, no host)


def check_env(env: str, *, source: str = "--env") -> str:
    """An environment is a Marathon path segment; anything else is refused before any I/O.

    At most 63 characters (a DNS label): it goes into file names (snapshots, locks).
    """
    if not ENV_RE.fullmatch(env) or len(env) > MAX_ENV:
        raise UsageError(
            f'{source} must be lower-case letters, digits and inner dashes, at most {MAX_ENV} characters, '
            f'like "prod" (found: {shorten(env)})'
        )
    return env


def check_service(name: str, *, flag: str, noun: str = "service") -> str:
    """A service is a Docker repository path; refuse anything else, naming the flag it came from."""
    if not isinstance(name, str) or not SERVICE_RE.fullmatch(name) or len(name) > 255:
        raise UsageError(f"{flag}: {shorten(name)} is not a valid {noun} name (lower case, digits, . _ - /)")
    return name
