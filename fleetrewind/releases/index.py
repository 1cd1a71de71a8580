"""Pure: releases -> the date index (rollback.json), and reading it back with clear errors.

No network here. A release's day is the calendar day of its ``created`` time in the
configured time zone; each day lists every release of the environment's branch that day.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, NotRequired, Sequence, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..atomic import write_json
from ..errors import UsageError
from ..instants import is_date, read_instant
from ..secret import REGISTRY, shorten
from ..model.imageref import checked_image
from ..model.names import check_env, check_service
from ..model.release import Release
from ..inputs import TooDeep, loads, read_text

INDEX_FORMAT = 2
INDEX_NAME = "rollback.json"


class ReleaseEntry(TypedDict):
    """One release as rollback.json writes it."""

    service: str
    tag: str
    digest: str
    created: str  # iso_utc
    image: str


class IndexDocument(TypedDict):
    """rollback.json as get writes it (parse_index reads it back into an :class:`Index`)."""

    format: int
    env: str
    branch: str
    registry: str
    generated_at: str
    timezone: str
    all: list[str]
    rollbacks: dict[str, list[ReleaseEntry]]  # date -> releases, newest date first
    ran: NotRequired[dict[str, list[str]]]  # date -> services that ran its release (get --marathon)


@dataclass(frozen=True)
class Index:
    env: str
    branch: str
    registry: str
    generated_at: str
    timezone: str
    services: tuple[str, ...]
    rollbacks: dict[str, list[Release]]
    # date -> services whose release of that day Marathon's history shows running (get --marathon)
    ran: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ran_asked: bool = False  # get asked Marathon (a "ran" key, even empty): every label then says what ran

    @property
    def tz(self) -> dt.tzinfo:
        return tz_from_name(self.timezone)

    def dates(self) -> list[str]:
        """Dates newest first: what the Jenkins dropdown offers."""
        return sorted(self.rollbacks, reverse=True)

    def releases(self, service: str) -> list[Release]:
        return sorted(r for day in self.rollbacks.values() for r in day if r.service == service)


def tz_name(tz: dt.tzinfo) -> str:
    return getattr(tz, "key", None) or "UTC"


def find_zone(name: str) -> dt.tzinfo | None:
    """``UTC`` (any case) or an IANA name such as ``Europe/Paris``; None for anything else."""
    if name.upper() == "UTC":
        return dt.timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def tz_from_name(name: str) -> dt.tzinfo:
    zone = find_zone(name)
    if zone is None:
        raise UsageError(f"rollback.json names an unknown time zone {shorten(name)}; run get again")
    return zone


def image_name(registry_url: str, repo: str, tag: str) -> str:
    """``https://registry.example.com:5000`` + ``api`` + ``7-master`` -> ``registry.example.com:5000/api:7-master``."""
    host = urllib.parse.urlsplit(registry_url).netloc.rpartition("@")[2]
    return f"{host}/{repo}:{tag}"


def day_of(created: dt.datetime, tz: dt.tzinfo) -> str:
    return created.astimezone(tz).date().isoformat()


def iso_utc(moment: dt.datetime) -> str:
    """UTC with the precision the registry gave (microseconds at most), ``Z`` suffix."""
    text = moment.astimezone(dt.timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def build_index(releases: Iterable[Release], *, env: str, branch: str, registry: str, services: Sequence[str],
                tz: dt.tzinfo, generated_at: dt.datetime, keep: int | None = None) -> IndexDocument:
    """The rollback.json document for these releases (keeping the newest ``keep`` per service)."""
    by_service: dict[str, list[Release]] = {s: [] for s in services}
    for release in releases:
        by_service.setdefault(release.service, []).append(release)
    kept: list[Release] = []
    for service_releases in by_service.values():
        service_releases.sort(key=lambda r: (r.created, r.tag))
        kept.extend(service_releases[-keep:] if keep else service_releases)
    order = {s: i for i, s in enumerate(services)}
    rollbacks: dict[str, list[ReleaseEntry]] = {}
    for release in sorted(kept, key=lambda r: (day_of(r.created, tz), order.get(r.service, 1 << 30), r.created)):
        rollbacks.setdefault(day_of(release.created, tz), []).append({
            "service": release.service,
            "tag": release.tag,
            "digest": release.digest,
            "created": iso_utc(release.created),
            "image": release.image,
        })
    return {
        "format": INDEX_FORMAT,
        "env": env,
        "branch": branch,
        "registry": registry,
        "generated_at": iso_utc(generated_at.replace(microsecond=0)),
        "timezone": tz_name(tz),
        "all": list(services),
        "rollbacks": dict(sorted(rollbacks.items(), reverse=True)),
    }


def write_index(folder: Path, document: IndexDocument) -> Path:
    path = folder / INDEX_NAME
    REGISTRY.data_words(str(r.get("image")) for day in document.get("rollbacks", {}).values() for r in day
                        if isinstance(r, dict))
    write_json(path, document)
    return path


def _bad(path: Path, what: str) -> UsageError:
    return UsageError(f"{path} is not a usable rollback.json: {what}; run `rollback.py get` again")


def parse_index(data: object, path: Path) -> Index:
    """Check a loaded rollback.json; every problem is named with the file."""
    if not isinstance(data, dict):
        raise _bad(path, "it is not a JSON object")
    if data.get("format") != INDEX_FORMAT:
        found = data.get("format", "missing")
        raise _bad(path, f"format is {shorten(found)}, this tool reads format {INDEX_FORMAT}")
    for key, kind in (("env", str), ("branch", str), ("registry", str), ("all", list), ("rollbacks", dict)):
        if not isinstance(data.get(key), kind):
            raise _bad(path, f"{key!r} is missing or not a {kind.__name__}")
    try:
        check_env(data["env"], source="env")
        services = tuple(check_service(s, flag="'all'") for s in data["all"])
    except UsageError as err:
        raise _bad(path, str(err)) from None
    timezone = data.get("timezone", "UTC")
    if not isinstance(timezone, str):
        raise _bad(path, "'timezone' is not a string")
    rollbacks: dict[str, list[Release]] = {}
    for day, entries in data["rollbacks"].items():
        try:
            if not is_date(day):  # one spelling: other ISO 8601 dates would sort wrong
                raise ValueError(day)
            dt.date.fromisoformat(day)
        except (TypeError, ValueError):
            raise _bad(path, f"date key {shorten(day)} is not YYYY-MM-DD") from None
        if not isinstance(entries, list):
            raise _bad(path, f"the releases of {day} are not a list")
        rollbacks[day] = [_release(entry, day, path) for entry in entries]
    ran_raw = data.get("ran", {})
    if not isinstance(ran_raw, dict) or not all(isinstance(v, list) and all(s in services for s in v)
                                                for v in ran_raw.values()):
        raise _bad(path, "'ran' must map dates to lists of its services")
    ran = {str(day): tuple(names) for day, names in ran_raw.items() if day in rollbacks}
    REGISTRY.data_words(r.image for day in rollbacks.values() for r in day)  # never hidden inside (secret.py)
    return Index(env=data["env"], branch=data["branch"], registry=data["registry"],
                 generated_at=str(data.get("generated_at", "")), timezone=timezone,
                 services=services, rollbacks=rollbacks, ran=ran, ran_asked="ran" in data)


def _release(entry: object, day: str, path: Path) -> Release:
    if not isinstance(entry, dict):
        raise _bad(path, f"a release of {day} is not an object")
    missing = [k for k in ("service", "tag", "created", "image") if not isinstance(entry.get(k), str)]
    if missing:
        raise _bad(path, f"a release of {day} lacks {', '.join(missing)}")
    digest = entry.get("digest", "")
    try:
        check_service(entry["service"], flag=f"a release of {day}")
        ref = checked_image(entry["image"], f"the image of a release of {day}")
        ref.with_tag(entry["tag"])
        if not isinstance(digest, str):  # its format is checked where it is used (pin_digest)
            raise UsageError(f"{shorten(digest)} is not a valid image digest")
    except UsageError as err:
        raise _bad(path, str(err)) from None
    created = read_instant(entry["created"])
    if created is None:
        raise _bad(path, f"release {entry['service']}:{entry['tag']} has an unreadable created time "
                         f"{shorten(entry['created'], 40)} (years 1970-8999 are accepted)")
    return Release(service=entry["service"], created=created, tag=entry["tag"], digest=digest, image=entry["image"])


def read_index(folder: Path) -> Index:
    path = folder / INDEX_NAME
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise UsageError(f"no {INDEX_NAME} in {folder}; run `rollback.py get --repo=... --env=...` first") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise _bad(path, f"it is not UTF-8 text (byte {exc.start})") from None
    try:
        data = loads(text)
    except TooDeep:
        raise _bad(path, "JSON nested too deeply") from None
    except ValueError as exc:
        raise _bad(path, f"invalid JSON at line {getattr(exc, 'lineno', '?')} (truncated?)") from None
    return parse_index(data, path)


def newest_per_service(releases: Iterable[Release]) -> list[Release]:
    """The release of each service a rollback to that day would use (the day's last one)."""
    newest: dict[str, Release] = {}
    for release in releases:
        if release.service not in newest or release.created > newest[release.service].created:
            newest[release.service] = release
    return list(newest.values())


def label(index: Index, day: str) -> str:
    """``2026-11-19 — api 512-master, web 88-master`` (the day's newest release per service)."""
    releases = newest_per_service(index.rollbacks.get(day, []))
    order = {s: i for i, s in enumerate(index.services)}
    releases.sort(key=lambda r: order.get(r.service, 1 << 30))
    text = f"{day} — " + ", ".join(f"{r.service} {r.tag}" for r in releases)
    if day in index.ran:  # get read Marathon's history: say which of these releases really ran
        text += "; ran: " + (", ".join(index.ran[day]) or "none")
    elif index.ran or index.ran_asked:  # the history does not reach that day's builds, or could not be read
        text += "; ran: unknown"
    return text


def target_for(index: Index, service: str, day: str) -> Release | None:
    """The date rule: the newest release of ``service`` created at or before the end of ``day``."""
    candidates = [r for d, entries in index.rollbacks.items() if d <= day for r in entries if r.service == service]
    return max(candidates, key=lambda r: (r.created, r.tag)) if candidates else None


def check_offered(index: Index, day: str) -> None:
    """A date must be one the dropdown offers; otherwise name the nearest ones."""
    if day in index.rollbacks:
        return
    offered = index.dates()
    if not offered:
        raise UsageError("rollback.json offers no dates; run get again")
    wanted = dt.date.fromisoformat(day)
    nearest = sorted(offered, key=lambda d: (abs((dt.date.fromisoformat(d) - wanted).days), d))[:3]
    raise UsageError(f"--date {day} is not offered by rollback.json; nearest dates: {', '.join(sorted(nearest, reverse=True))}")
