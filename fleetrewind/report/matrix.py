"""The release matrix, ``rollback.html``: dates down, services across, one static page.

``get`` writes it without a date; ``plan`` writes it with the chosen date, whose resolved set
(``history.target_for`` per service) is highlighted, so a person can check the plan by eye.
Self-contained on purpose: inline CSS, no script, no network, opens from a Jenkins artifact.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Mapping, Sequence

from ..atomic import write_text
from ..releases.index import Index, target_for
from ..model.release import Release
from ..model.checks import Check

MATRIX_NAME = "rollback.html"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; background: #fff; }}
header {{ padding: 12px 16px 8px; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }}
.meta {{ color: #57606a; margin: 0 0 6px; }}
.meta b {{ color: #1f2328; }}
.chosen-note {{ margin: 6px 0; padding: 6px 10px; background: #e6f4ea; border-left: 4px solid #1a7f37; display: inline-block; }}
.legend {{ display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 6px 0 0; padding: 0; list-style: none; color: #57606a; font-size: 12px; }}
.legend span {{ display: inline-block; padding: 1px 6px; border-radius: 3px; margin-right: 4px; }}
table {{ border-collapse: separate; border-spacing: 0; margin: 0 16px 24px; }}
th, td {{ border-right: 1px solid #d0d7de; border-bottom: 1px solid #d0d7de; padding: 4px 7px; white-space: nowrap; text-align: left; }}
thead th {{ position: sticky; top: 0; z-index: 2; background: #f6f8fa; border-top: 1px solid #d0d7de; font-weight: 600; }}
th[scope=row] {{ position: sticky; left: 0; z-index: 1; background: #f6f8fa; font-weight: 600; font-variant-numeric: tabular-nums; }}
thead th:first-child {{ left: 0; z-index: 3; border-left: 1px solid #d0d7de; }}
tbody th {{ border-left: 1px solid #d0d7de; }}
.dow {{ color: #8c959f; font-weight: 400; margin-left: 4px; }}
td.rel {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }}
.more {{ color: #8250df; font-family: system-ui, sans-serif; font-size: 11px; margin-left: 4px; }}
tr.newer td, tr.newer th {{ color: #8c959f; }}
tr.chosen th[scope=row] {{ background: #1a7f37; color: #fff; }}
tr.chosen td {{ background: #f0faf2; }}
td.target, .legend .target {{ background: #aceebb !important; color: #0a3622 !important; font-weight: 700; outline: 2px solid #1a7f37; outline-offset: -2px; }}
td.fill, .legend .fill {{ background: #fff8c5 !important; color: #4d2d00; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }}
td.asis, .legend .asis {{ background: #f6f8fa !important; color: #57606a; font-style: italic; }}
.legend .newer {{ color: #8c959f; border: 1px solid #d0d7de; }}
ul.checks {{ margin: 6px 0; padding: 6px 10px 6px 28px; background: #fff8c5; border-left: 4px solid #bf8700; }}
.from {{ display: block; font-family: system-ui, sans-serif; font-size: 11px; color: #6e5400; }}
</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="meta">{meta}</p>
{note}
<ul class="legend">{legend}</ul>
</header>
<table>
<thead><tr><th scope="col">date ({tz})</th>{columns}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""

_LEGEND_ALWAYS = '<li><span class="more">+2</span>more releases that day (the last one is shown and used)</li>'
_LEGEND_CHOSEN = (
    '<li><span class="target">512-master</span>the image each service gets</li>'
    '<li><span class="fill">← 510-master</span>no release that day: filled from an older date</li>'
    '<li><span class="asis">left as is</span>no release at or before the date</li>'
    '<li><span class="newer">grey</span>newer releases the rollback undoes</li>'
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _services(index: Index) -> list[str]:
    """The index's services in its order, then any that only appear in releases."""
    seen = list(index.services)
    extra = sorted({r.service for day in index.rollbacks.values() for r in day} - set(seen))
    return seen + extra


def _day_of_release(index: Index, release: Release) -> str | None:
    return next((day for day, entries in index.rollbacks.items() if release in entries), None)


def _tooltip(releases: list[Release]) -> str:
    lines = [f"{r.tag} created {r.created.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S}Z\n{r.image}" for r in releases]
    return "\n".join(reversed(lines))


def _release_cell(releases: list[Release], css: list[str]) -> str:
    last = releases[-1]
    more = f'<span class="more">+{len(releases) - 1}</span>' if len(releases) > 1 else ""
    return f'<td class="{" ".join(["rel", *css])}" title="{_e(_tooltip(releases))}">{_e(last.tag)}{more}</td>'


def render_matrix(index: Index, *, date: str | None = None, now: dt.datetime | None = None,
                  targets: Mapping[str, Release | None] | None = None, rule: str = "built",
                  checks: Sequence[Check] = (), verdicts: Mapping[str, str] | None = None) -> str:
    """The whole page as text (pure: no file, no clock unless ``now`` is left out).

    ``targets`` overrides the build rule's choice (the ran or good rule's releases); ``checks`` are
    listed; ``verdicts`` (service -> the verdict of its target's version) are shown beside them.
    """
    services = _services(index)
    days = sorted(set(index.rollbacks) | ({date} if date else set()), reverse=True)
    cells: dict[tuple[str, str], list[Release]] = {}
    for day, entries in index.rollbacks.items():
        for release in entries:
            cells.setdefault((day, release.service), []).append(release)
    for releases in cells.values():
        releases.sort(key=lambda r: (r.created, r.tag))

    if targets is None:
        targets = {s: target_for(index, s, date) for s in services} if date else {}
    target_days = {s: _day_of_release(index, r) for s, r in targets.items() if r is not None}

    rows: list[str] = []
    for day in days:
        row_css = "chosen" if day == date else ("newer" if date and day > date else "")
        weekday = dt.date.fromisoformat(day).strftime("%a")
        marker = " ▶" if day == date else ""
        parts = [f'<th scope="row">{_e(day)}<span class="dow">{weekday}</span>{marker}</th>']
        for service in services:
            releases = cells.get((day, service)) or []
            target = targets.get(service)
            if releases:
                parts.append(_release_cell(releases, ["target"] if target == releases[-1] else []))
            elif day == date and target is not None:
                since = target_days.get(service, "?")
                parts.append(f'<td class="fill" title="{_e(target.image)}">← {_e(target.tag)} '
                             f'<span class="from">(from {_e(since)})</span></td>')
            elif day == date:
                parts.append('<td class="asis">left as is</td>')
            else:
                parts.append("<td></td>")
        opening = f'<tr class="{row_css}">' if row_css else "<tr>"
        rows.append(opening + "".join(parts) + "</tr>")

    written = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = (f"env <b>{_e(index.env)}</b> · branch <b>{_e(index.branch)}</b> · registry {_e(index.registry)} · "
            f"index generated {_e(index.generated_at or '?')} · page written {written} · "
            f"{len(services)} services, {len(index.rollbacks)} dates")
    note = ""
    if date:
        same_day = sum(1 for s in services if s in target_days and target_days[s] == date)
        filled = sum(1 for s in services if s in target_days and target_days[s] != date)
        left = [s for s in services if targets.get(s) is None]
        note = (f'<p class="chosen-note">Rolling back to <b>{_e(date)}</b>: {same_day} released that day, '
                f"{filled} filled from older dates, {len(left)} left as is"
                + (f" ({_e(', '.join(left))})" if left else "") + f" · rule <b>{_e(rule)}</b></p>")
        if verdicts:
            served = " · ".join(f"{_e(s)} <b>{_e(v)}</b>" for s, v in verdicts.items())
            note += f'<p class="verdicts">What served (verdict of each target): {served}</p>'
        if checks:
            items = "".join(f"<li><b>{_e(c.kind)}</b> {_e(c.service)}: {_e(c.detail)}</li>" for c in checks)
            note += f'<ul class="checks">{items}</ul>'

    title = f"Release matrix: {index.env}" + (f" → {date}" if date else "")
    return _PAGE.format(
        title=_e(title), meta=meta, note=note, tz=_e(index.timezone),
        legend=_LEGEND_ALWAYS + (_LEGEND_CHOSEN if date else ""),
        columns="".join(f'<th scope="col">{_e(s)}</th>' for s in services),
        rows="\n".join(rows),
    )


def write_matrix(folder: Path, index: Index, *, date: str | None = None,
                 targets: Mapping[str, Release | None] | None = None, rule: str = "built",
                 checks: Sequence[Check] = (), verdicts: Mapping[str, str] | None = None) -> Path:
    """Write ``rollback.html`` atomically; with ``date``, that date's resolved set is highlighted."""
    path = folder / MATRIX_NAME
    write_text(path, render_matrix(index, date=date, targets=targets, rule=rule, checks=checks, verdicts=verdicts))
    return path
