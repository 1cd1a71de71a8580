"""Pure: what was released between two days, per service: the suspects when something broke.

``--from=D`` means "it worked at the end of D": the releases listed are those of the days after
D, up to the end of ``--to`` (both days of rollback.json's time zone), exactly the releases a
rollback to D would take away. What runs now comes from Marathon when it can be read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping

from ..model.imageref import runs
from .index import Index, day_of, iso_utc
from ..model.release import Release


@dataclass(frozen=True, kw_only=True)
class Deployed:
    """An image an app started to hold at ``at``, from Marathon's stored versions."""

    at: dt.datetime
    image: str | None
    release: Release | None = None


@dataclass(frozen=True, kw_only=True)
class ServiceDiff:
    service: str
    releases: tuple[Release, ...]  # newest first
    current: str | None = None  # the image Marathon runs, when read
    current_release: Release | None = None  # the index's release of that image, when it is one
    problem: str | None = None  # why what runs now is not known
    deployed: tuple[Deployed, ...] = ()  # newest first: image changes Marathon's history shows in the span
    history: str | None = None  # why the deployments are not (all) shown; None when the history covers the span

    @property
    def changed(self) -> bool:
        return bool(self.releases or self.deployed)


@dataclass(frozen=True, kw_only=True)
class Diff:
    env: str
    after: str
    through: str
    services: tuple[ServiceDiff, ...]
    marathon: str | None = None  # None: what runs now was read; otherwise why it was not

    def changed(self) -> list[ServiceDiff]:
        return [s for s in self.services if s.changed]

    def unchanged(self) -> list[ServiceDiff]:
        return [s for s in self.services if not s.changed]


def release_of(index: Index, service: str, image: str | None) -> Release | None:
    """The release of ``service`` that ``image`` runs (by tag, or by digest when pinned to one)."""
    matches = [r for r in index.releases(service) if runs(image, tag=r.tag, digest=r.digest or None)]
    return max(matches, key=lambda r: (r.created, r.tag)) if matches else None


def span(index: Index, after: str, through: str) -> tuple[dt.datetime, dt.datetime]:
    """The instants the days after ``after`` up to the end of ``through`` cover, in the index's time zone."""
    def midnight_after(day: str) -> dt.datetime:
        date = dt.date.fromisoformat(day) + dt.timedelta(days=1)
        return dt.datetime(date.year, date.month, date.day, tzinfo=index.tz)
    return midnight_after(after), midnight_after(through)


def diff(index: Index, *, after: str, through: str, current: Mapping[str, str | None] | None = None,
         problems: Mapping[str, str] | None = None, marathon: str | None = None,
         deployed: Mapping[str, list[tuple[dt.datetime, str | None]]] | None = None,
         history: Mapping[str, str] | None = None, since: dt.datetime | None = None) -> Diff:
    """Per service of the index, the releases of the days after ``after`` up to ``through``, newest first
    (with ``since``, diff --at: the releases built after that moment instead of after the day ``after``).

    ``deployed``: per service, the image changes Marathon's history shows in that span (when it was
    read); ``history``: per service, why those are not known or may be incomplete.
    """
    services = []
    for service in index.services:
        releases = sorted((r for r in index.releases(service) if day_of(r.created, index.tz) <= through
                           and (r.created > since if since is not None else after < day_of(r.created, index.tz))),
                          key=lambda r: (r.created, r.tag), reverse=True)
        image = (current or {}).get(service)
        changes = sorted((deployed or {}).get(service, []), key=lambda c: c[0], reverse=True)
        services.append(ServiceDiff(service=service, releases=tuple(releases), current=image,
                                    current_release=release_of(index, service, image),
                                    problem=(problems or {}).get(service),
                                    deployed=tuple(Deployed(at=at, image=img, release=release_of(index, service, img))
                                                   for at, img in changes),
                                    history=(history or {}).get(service)))
    return Diff(env=index.env, after=after, through=through, services=tuple(services), marathon=marathon)


def _runs_now(entry: ServiceDiff, marathon: str | None) -> str:
    if marathon is not None:
        return "runs now: unknown"
    if entry.problem:
        return f"runs now: unknown ({entry.problem})"
    if entry.current is None:
        return "runs now: no Docker image"
    if entry.current_release is None:
        return f"runs now: {entry.current} (not in the index)"
    return f"runs now: {entry.current_release.tag} (built {iso_utc(entry.current_release.created)})"


def render_diff(result: Diff) -> str:
    """Changed services first, each with its releases newest first; unchanged ones at the end."""
    lines = [f"releases of {result.env} built after {result.after} up to the end of {result.through}, newest first:"]
    for entry in result.changed():
        lines.append("")
        lines.append(f"{entry.service}  ({len(entry.releases)} release{'s' if len(entry.releases) != 1 else ''}; "
                     f"{_runs_now(entry, result.marathon)})")
        for release in entry.releases:
            running = entry.current_release is not None and release == entry.current_release
            lines.append(f"  {release.tag:<20} built {iso_utc(release.created)}  {release.image}"
                         + ("  <- runs now" if running else ""))
        for change in entry.deployed:
            what = change.release.tag if change.release else (change.image or "no Docker image")
            lines.append(f"  deployed {iso_utc(change.at)}  {what}" + ("" if change.release else " (not in the index)"))
        if entry.history and result.marathon is None:
            lines.append(f"  deployments: not all known ({entry.history})")
    unchanged = result.unchanged()
    lines.append("")
    lines.append("unchanged: " + (", ".join(s.service for s in unchanged) if unchanged else "none"))
    if result.marathon is None:
        for entry in unchanged:
            if entry.history:
                lines.append(f"  {entry.service}: deployments not all known ({entry.history})")
    if result.marathon is not None:
        lines.append(f"what runs now is not shown: {result.marathon}")
    lines.append(f"{len(result.changed())} of {len(result.services)} services have releases in that span")
    return "\n".join(lines)


def _release_json(release: Release | None) -> dict[str, str] | None:
    if release is None:
        return None
    return {"tag": release.tag, "created": iso_utc(release.created), "digest": release.digest, "image": release.image}


def diff_json(result: Diff) -> dict[str, object]:
    def entry(s: ServiceDiff) -> dict[str, object]:
        return {"service": s.service, "releases": [_release_json(r) for r in s.releases], "current": s.current,
                "current_release": _release_json(s.current_release), "problem": s.problem,
                "deployed": [{"at": iso_utc(d.at), "image": d.image, "tag": d.release.tag if d.release else None}
                             for d in s.deployed],
                "history": s.history}

    return {
        "env": result.env, "from": result.after, "to": result.through,
        "marathon": "read" if result.marathon is None else result.marathon,
        "services": [entry(s) for s in result.changed()],
        "unchanged": [entry(s) for s in result.unchanged()],
    }
