"""`get` and `dates` through the command line without a registry: no registry configured, `dates`
over a rollback.json already written, a missing or corrupt one. Against the real registry:
tests/integration/test_get_cli.py."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from fleetrewind.releases.index import build_index, write_index
from fleetrewind.registry.client import parse_created


PREVIOUS = b'{"format": 2, "note": "the last good rollback.json"}\n'


def one_line_error(result) -> str:
    """The single ``error:`` line of a failed run, which must be the last thing on stderr."""
    lines = result.err.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.err
    assert lines[-1] == errors[0], result.err
    assert "Traceback" not in result.err
    return errors[0][len("error: "):]


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    """A dump folder holding a previous rollback.json, which a failed get must leave as it is."""
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "rollback.json").write_bytes(PREVIOUS)
    return folder


def assert_previous_kept(folder: Path) -> None:
    assert (folder / "rollback.json").read_bytes() == PREVIOUS
    assert sorted(os.listdir(folder)) == ["rollback.json"]   # no temp file, no half-written matrix


def test_no_registry_configured(cli, dump: Path) -> None:
    result = cli("get", "--repo=api", "--env=prod", f"--dump={dump}")
    assert result.code == 2
    assert one_line_error(result) == "no registry URL: pass --registry=<url> or set DOCKER_REGISTRY"
    assert_previous_kept(dump)


@pytest.fixture
def index_folder(tmp_path: Path) -> Path:
    from fleetrewind.model.release import Release

    def rel(service: str, tag: str, created: str) -> Release:
        return Release(service=service, created=parse_created(created, "t"), tag=tag, digest="sha256:x",
                       image=f"registry.example.com/{service}:{tag}")

    releases = [rel("api", "511-master", "2026-11-19T08:00:00Z"), rel("api", "512-master", "2026-11-19T11:00:00Z"),
                rel("web", "88-master", "2026-11-19T10:00:00Z"), rel("web", "87-master", "2026-11-17T10:00:00Z"),
                rel("api", "515-master", "2026-11-21T09:00:00Z")]
    write_index(tmp_path, build_index(releases, env="prod", branch="master", registry="https://registry.example.com",
                                      services=("api", "web"), tz=dt.timezone.utc,
                                      generated_at=dt.datetime(2026, 11, 21, 20, 0, tzinfo=dt.timezone.utc)))
    return tmp_path


def test_dates_newest_first_one_per_line(cli, index_folder: Path) -> None:
    result = cli("dates", f"--dump={index_folder}")
    assert result.code == 0, result.err
    assert result.out == "2026-11-21\n2026-11-19\n2026-11-17\n"


def test_dates_json_with_labels(cli, index_folder: Path) -> None:
    result = cli("dates", f"--dump={index_folder}", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "env": "prod",
        "branch": "master",
        "generated_at": "2026-11-21T20:00:00Z",
        "services": ["api", "web"],
        "dates": [
            {"date": "2026-11-21", "label": "2026-11-21 — api 515-master"},
            {"date": "2026-11-19", "label": "2026-11-19 — api 512-master, web 88-master"},
            {"date": "2026-11-17", "label": "2026-11-17 — web 87-master"},
        ],
    }


def test_dates_without_rollback_json(cli, tmp_path: Path) -> None:
    result = cli("dates", f"--dump={tmp_path}")
    assert result.code == 2
    assert result.out == ""
    assert one_line_error(result) == f"no rollback.json in {tmp_path}; run `rollback.py get --repo=... --env=...` first"


@pytest.mark.parametrize("text, what", [
    ('{"format": 2, "env": "prod", "rollb', "invalid JSON at line 1 (truncated?)"),
    ('{"format": 1, "rollbacks": {}}', "format is 1, this tool reads format 2"),
    ("<html>502 Bad Gateway</html>", "invalid JSON"),
])
def test_dates_on_a_corrupt_rollback_json(cli, tmp_path: Path, text: str, what: str) -> None:
    (tmp_path / "rollback.json").write_text(text, encoding="utf-8")
    result = cli("dates", f"--dump={tmp_path}", "--json")
    assert result.code == 2
    assert result.out == ""
    line = one_line_error(result)
    assert line.startswith(f"{tmp_path / 'rollback.json'} is not a usable rollback.json: ")
    assert what in line
    assert line.endswith("run `rollback.py get` again")
