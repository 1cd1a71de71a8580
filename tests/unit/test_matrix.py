"""The HTML release matrix: cells, the chosen date's set, escaping (Chromium renders it in
tests/integration/test_matrix.py)."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.errors import UsageError
from fleetrewind.releases.index import Index, parse_index, target_for
from fleetrewind.model.release import Release
from fleetrewind.report.matrix import render_matrix, write_matrix


NOW = dt.datetime(2026, 11, 21, 20, 30, tzinfo=dt.timezone.utc)


def _rel(service: str, tag: str, created: str) -> dict[str, str]:
    return {"service": service, "tag": tag, "digest": "sha256:" + "ab" * 32, "created": created,
            "image": f"registry.example.com/{service}:{tag}"}


SAMPLE: dict[str, Any] = {
    "format": 2, "env": "prod", "branch": "master", "registry": "https://registry.example.com",
    "generated_at": "2026-11-21T20:00:00Z", "timezone": "UTC",
    "all": ["api", "web", "auth", "batch"],
    "rollbacks": {
        "2026-11-21": [_rel("api", "514-master", "2026-11-21T09:00:00Z"), _rel("web", "90-master", "2026-11-21T11:00:00Z"),
                       _rel("batch", "3-master", "2026-11-21T12:00:00Z")],
        "2026-11-19": [_rel("api", "511-master", "2026-11-19T10:00:00Z"), _rel("api", "513-master", "2026-11-19T12:00:00Z"),
                       _rel("api", "512-master", "2026-11-19T15:00:00Z"), _rel("web", "88-master", "2026-11-19T16:00:00Z")],
        "2026-11-17": [_rel("api", "510-master", "2026-11-17T08:00:00Z"), _rel("auth", "40-master", "2026-11-17T09:00:00Z")],
        "2026-11-15": [_rel("web", "85-master", "2026-11-15T08:00:00Z")],
    },
}


def _index(data: dict[str, Any] = SAMPLE) -> Index:
    return parse_index(data, Path("x"))


class Cells(HTMLParser):
    """Table cells as (row date, column service, css classes, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.columns: list[str] = []
        self.cells: dict[tuple[str, str], tuple[set[str], str]] = {}
        self.rows: dict[str, set[str]] = {}
        self._row: list[tuple[str, set[str], str]] = []
        self._row_css: set[str] = set()
        self._cell: tuple[str, set[str]] | None = None
        self._text: list[str] = []
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        css = set((dict(attrs).get("class") or "").split())
        if tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row, self._row_css = [], css
        elif tag in ("td", "th"):
            self._cell, self._text = (tag, css), []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self._row.append((self._cell[0], self._cell[1], "".join(self._text).strip()))
            self._cell = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "tr":
            if self._in_head:
                self.columns = [text for _, _, text in self._row[1:]]
            else:
                date = self._row[0][2][:10]
                self.rows[date] = self._row_css
                for service, (_, css, text) in zip(self.columns, self._row[1:]):
                    self.cells[(date, service)] = (css, text)


def _parse(text: str) -> Cells:
    parser = Cells()
    parser.feed(text)
    return parser


def test_matrix_without_a_date_lists_every_release() -> None:
    page = _parse(render_matrix(_index(), now=NOW))
    assert page.columns == ["api", "web", "auth", "batch"]
    assert list(page.rows) == ["2026-11-21", "2026-11-19", "2026-11-17", "2026-11-15"]  # newest first
    assert page.cells[("2026-11-21", "api")] == ({"rel"}, "514-master")
    # three releases that day: the last one is shown, the other two counted
    assert page.cells[("2026-11-19", "api")] == ({"rel"}, "512-master+2")
    assert page.cells[("2026-11-19", "auth")] == (set(), "")
    assert not any("target" in css or "fill" in css for css, _ in page.cells.values())
    assert "left as is" not in render_matrix(_index(), now=NOW)


def test_chosen_date_highlights_its_resolved_set() -> None:
    index = _index()
    text = render_matrix(index, date="2026-11-19", now=NOW)
    page = _parse(text)
    assert page.rows["2026-11-19"] == {"chosen"}
    assert page.rows["2026-11-21"] == {"newer"}
    assert page.rows["2026-11-17"] == set()
    targets = {key for key, (css, _) in page.cells.items() if "target" in css}
    # each service's target_for() release, in the cell where it lives
    assert targets == {("2026-11-19", "api"), ("2026-11-19", "web"), ("2026-11-17", "auth")}
    for date, service in targets:
        release = target_for(index, service, "2026-11-19")
        assert release is not None and page.cells[(date, service)][1].startswith(release.tag)
    assert page.cells[("2026-11-19", "auth")] == ({"fill"}, "← 40-master (from 2026-11-17)")
    assert page.cells[("2026-11-19", "batch")] == ({"asis"}, "left as is")
    assert "Rolling back to <b>2026-11-19</b>: 2 released that day, 1 filled from older dates, 1 left as is (batch)" in text


def test_back_fill_from_several_dates_back() -> None:
    page = _parse(render_matrix(_index(), date="2026-11-17", now=NOW))
    assert page.cells[("2026-11-17", "web")] == ({"fill"}, "← 85-master (from 2026-11-15)")
    assert ("target" in page.cells[("2026-11-15", "web")][0])
    assert "target" in page.cells[("2026-11-17", "api")][0]
    assert page.cells[("2026-11-17", "batch")] == ({"asis"}, "left as is")
    assert page.rows["2026-11-19"] == page.rows["2026-11-21"] == {"newer"}


def test_a_date_without_releases_still_gets_its_row() -> None:
    page = _parse(render_matrix(_index(), date="2026-11-20", now=NOW))
    assert list(page.rows)[:2] == ["2026-11-21", "2026-11-20"]
    assert page.cells[("2026-11-20", "api")] == ({"fill"}, "← 512-master (from 2026-11-19)")


def test_hostile_names_are_refused_when_read_and_escaped_when_rendered() -> None:
    """rollback.json refuses such names; the page escapes them all the same (defence in depth)."""
    evil = "<img src=x onerror=alert(1)>"
    data = {
        "format": 2, "env": "prod", "branch": "master", "registry": "https://r.example.com",
        "generated_at": "2026-11-21T20:00:00Z", "timezone": "UTC", "all": [evil, "ok"],
        "rollbacks": {"2026-11-19": [_rel(evil, "1-master", "2026-11-19T10:00:00Z")]},
    }
    with pytest.raises(UsageError, match="not a valid service name"):
        _index(data)

    def rel(service: str, tag: str, created: str) -> Release:
        return Release(service=service, created=dt.datetime.fromisoformat(created), tag=tag,
                       digest="sha256:" + "ab" * 32, image=f"registry.example.com/{service}:{tag}")
    index = Index(env="prod", branch='master"><script>x()</script>', registry="https://r.example.com/<u>",
                  generated_at="<i>now</i>", timezone="UTC", services=(evil, "ok"),
                  rollbacks={"2026-11-19": [rel(evil, '1-master"><svg onload=alert(2)>', "2026-11-19T10:00:00+00:00")],
                             "2026-11-18": [rel("ok", "2-master&x", "2026-11-18T10:00:00+00:00")]})
    text = render_matrix(index, date="2026-11-19", now=NOW)
    for raw in ("<img", "<script", "<svg", "<u>", "<i>"):
        assert raw not in text, raw
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "2-master&amp;x" in text
    page = _parse(text)
    assert page.columns == [evil, "ok"]
    assert page.cells[("2026-11-19", "ok")] == ({"fill"}, "← 2-master&x (from 2026-11-18)")


def test_page_is_self_contained(tmp_path: Path) -> None:
    path = write_matrix(tmp_path, _index(), date="2026-11-19")
    assert path == tmp_path / "rollback.html"
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text and "http://" not in text.replace("http://www.w3.org", "")
    assert "src=" not in text and "@import" not in text and "url(" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["rollback.html"]
