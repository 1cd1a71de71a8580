"""Pure: which services a run may touch (``--only``, ``--exclude``, the config's ``pinned``).

The rule, in order: ``--only`` (when given) keeps the services it names; a pinned service stays
out unless ``--only`` names it; ``--exclude`` then removes what it names, pinned or not.
Every name must be a service of the fleet, checked before anything is read from Marathon.
"""

from __future__ import annotations

from typing import Sequence

from ..errors import UsageError
from ..secret import shorten
from ..releases.tags import parse_names
from ..model.scope import Scope, Selection


def parse_scope_flag(flag: str, value: str | None) -> tuple[str, ...] | None:
    """``--only=api,web`` -> ("api", "web"); empty items, duplicates and bad names are exit 2."""
    if value is None:
        return None
    return parse_names(value, flag=flag, noun="service")


def parse_pinned(raw: object) -> dict[str, str]:
    """The config's ``pinned``: a list of services, or a mapping of service to reason."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        pairs = [(name, "") for name in raw]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise UsageError(f"config 'pinned' must be a list of services or a map of service to reason (found: {shorten(raw)})")
    pinned: dict[str, str] = {}
    for name, reason in pairs:
        if not isinstance(name, str) or not (reason is None or isinstance(reason, str)):
            raise UsageError(f"config 'pinned' must name services with an optional reason string "
                             f"(found: {shorten(name)}: {shorten(reason)})")
        parse_names(name, flag="config 'pinned'", noun="service")
        if name in pinned:
            raise UsageError(f"config 'pinned' names {name!r} twice")
        pinned[name] = (reason or "").strip()
    return pinned


def check_known(scope: Scope, services: Sequence[str], *, source: str = "rollback.json",
                pins: bool = True) -> None:
    """Every name of --only, --exclude (and pinned, when ``pins``) must be a service of ``source`` (exit 2).

    ``pins=False`` where ``services`` is part of the fleet only (a ledger state): a pin of another
    service is then no typo, and simply does not apply.
    """
    known = set(services)
    for what, names in (("--only", scope.only or ()), ("--exclude", scope.exclude),
                        ("config 'pinned'", tuple(scope.pinned) if pins else ())):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UsageError(f"{what} names {', '.join(unknown)}, not a service of {source}; "
                             f"known services: {', '.join(services)}")


def select(services: Sequence[str], scope: Scope) -> Selection:
    """Apply the rule to ``services`` (the fleet, in its order)."""
    only = set(scope.only) if scope.only is not None else None
    exclude = set(scope.exclude)
    selected: list[str] = []
    left_out: dict[str, str] = {}
    for service in services:
        if only is not None and service not in only:
            left_out[service] = "not named in --only"
        elif service in exclude:
            left_out[service] = "named in --exclude"
        elif only is None and service in scope.pinned:
            reason = scope.pinned[service]
            left_out[service] = f"pinned: {reason}" if reason else "pinned (name it in --only to change it)"
        else:
            selected.append(service)
    return Selection(selected=tuple(selected), left_out=left_out)


def nothing_left(scope: Scope, selection: Selection) -> str:
    """The one line saying why a selection is empty (exit 0, nothing written)."""
    parts = []
    if scope.only is not None:
        parts.append(f"--only={','.join(scope.only)}")
    if scope.exclude:
        parts.append(f"--exclude={','.join(scope.exclude)}")
    if scope.pinned and scope.only is None:
        parts.append("the pinned services")
    return f"nothing to do: {' and '.join(parts) or 'the selection'} leave no service in scope"
