"""Pure rules for tags and branches (the checks of environment and service names: model.names)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from ..errors import UsageError
from ..model.names import check_service

DEFAULT_TAG_PATTERN = r"^(?P<build>\d+)-(?P<branch>.+)$"  # compiled with re.ASCII: \d is 0-9
DEFAULT_BRANCHES: Mapping[str, str] = {"prod": "master", "stage": "stage", "dev": "develop"}


@dataclass(frozen=True)
class TagInfo:
    build: int | None
    branch: str


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
