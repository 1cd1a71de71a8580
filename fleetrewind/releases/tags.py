"""Pure rules for names: environments, services, tags and branches."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from ..errors import UsageError
from ..secret import shorten
from .imageref import REPO_RE

ENV_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", re.ASCII)
MAX_ENV = 63
SERVICE_RE = REPO_RE  # a service is a Docker repository path (lower case, no host)
DEFAULT_TAG_PATTERN = r"^(?P<build>\d+)-(?P<branch>.+)$"  # compiled with re.ASCII: \d is 0-9
DEFAULT_BRANCHES: Mapping[str, str] = {"prod": "master", "stage": "stage", "dev": "develop"}


@dataclass(frozen=True)
class TagInfo:
    build: int | None
    branch: str


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


def parse_names(value: str, *, flag: str, noun: str = "service") -> tuple[str, ...]:
    """Split a comma-separated list of names; refuse empty, malformed and duplicated names."""
    names = [part.strip() for part in value.split(",")]
    if not value.strip() or any(not name for name in names):
        raise UsageError(f"{flag} must be a comma-separated list of {noun} names (found: {value!r})")
    for name in names:
        check_service(name, flag=flag, noun=noun)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UsageError(f"{flag} names {name!r} twice; list each service once")
        seen.add(name)
    return tuple(names)


def parse_services(value: str) -> tuple[str, ...]:
    """Split ``--repo=a,b,c``; refuse empty, malformed and duplicated names."""
    return parse_names(value, flag="--repo", noun="repository")


def compile_tag_pattern(pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern, re.ASCII)  # \d and \w: ASCII only, as for dates
    except re.error as exc:
        raise UsageError(f"tag pattern {pattern!r} is not a valid regular expression: {exc}") from None
    if "branch" not in compiled.groupindex:
        raise UsageError(f"tag pattern {pattern!r} needs a named group (?P<branch>...)")
    return compiled


def branch_for_env(env: str, branches: Mapping[str, str]) -> str:
    """The branch whose builds an environment runs; an unmapped name is its own branch."""
    return branches.get(env, env)


def parse_tag(tag: str, pattern: re.Pattern[str]) -> TagInfo | None:
    """``512-master`` -> TagInfo(512, "master"); ``None`` when the tag does not follow the pattern."""
    match = pattern.fullmatch(tag)
    if not match:
        return None
    build = match.groupdict().get("build")
    return TagInfo(build=int(build) if build and build.isascii() and build.isdigit() else None,
                   branch=match.group("branch"))
