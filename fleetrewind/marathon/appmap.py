"""Pure: which Marathon app runs each service.

Default rule: the app whose id's second path segment is the environment and whose last
segment equals the service name exactly (``/ds/prod/shop/api`` for prod and api). The config's
``apps`` map overrides it per service; ``app_group`` narrows candidates to ids under a prefix.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

from ..errors import UsageError
from ..secret import shorten

# Marathon's PathId segments (src/main/scala/mesosphere/marathon/state/PathId.scala), without "." and "..":
# an id read back from a file must not climb out of its group.
_SEGMENT = r"(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])(?:\.(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9]))*"
APP_ID_RE = re.compile(rf"^(?:/{_SEGMENT})+$", re.ASCII)


def check_app_id(value: object, where: str) -> str:
    """An absolute Marathon app id such as ``/ds/prod/shop/api``; anything else is refused."""
    if not isinstance(value, str) or not APP_ID_RE.fullmatch(value) or len(value) > 512:
        raise UsageError(f"{where}: {shorten(value)} is not a Marathon app id like /ds/prod/shop/api")
    return value


def _segments(app_id: str) -> list[str]:
    return [s for s in app_id.split("/") if s]


def map_apps(services: Sequence[str], app_ids: Iterable[str], *, env: str,
             overrides: Mapping[str, str] | None = None, app_group: str | None = None) -> dict[str, str]:
    """service -> app id; zero or several matches is an error before anything is deployed."""
    known = list(app_ids)
    overrides = overrides or {}
    result: dict[str, str] = {}
    problems: list[str] = []
    prefix = "/" + "/".join(_segments(app_group)) + "/" if app_group else None
    # the candidates of each name, read once: /<group>/<env>/.../<name> (not per service: N x N)
    by_name: dict[str, list[str]] = {}
    for app_id in known:
        segs = _segments(app_id)
        if len(segs) >= 3 and segs[1] == env and (not prefix or app_id.startswith(prefix)):
            by_name.setdefault(segs[-1], []).append(app_id)
    listed = set(known)
    for service in services:
        if service in overrides:
            wanted = "/" + "/".join(_segments(overrides[service]))
            if wanted not in listed:
                problems.append(f"{service}: configured app {wanted} does not exist in Marathon")
            else:
                result[service] = wanted
            continue
        name = service.rsplit("/", 1)[-1]
        matches = by_name.get(name, [])
        if not matches:
            problems.append(f"{service}: no Marathon app /<group>/{env}/.../{name}")
        elif len(matches) > 1:
            problems.append(f"{service}: several apps match ({', '.join(sorted(matches))})")
        else:
            result[service] = matches[0]
    if problems:
        raise UsageError("cannot map services to Marathon apps: " + "; ".join(problems)
                         + "; set `apps:` (service: app id) in the config file")
    return result
