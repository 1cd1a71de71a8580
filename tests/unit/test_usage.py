"""The command line is parsed against a usage pattern built once per process: the same answers as
docopt itself, line for line, and no answer shares a mutable default with the next."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
from docopt import DocoptExit, docopt

from fleetrewind import __version__
from fleetrewind.usage import USAGE, _fresh, _parser, parse_command_line

# docopt itself takes about 0.07 s a line: a few lines of each shape (the unit tier runs in 10 s).
LINES = [
    ["get", "--repo=api", "--env=prod", "--dump=out", "--keep=3", "--verbose"],
    ["plan", "--date=2026-11-19", "--env=prod", "--only=api", "--rule=ran", "--strict"],
    ["run", "--to=last-good", "--env=prod", "--exclude=web", "--on-failure=revert", "--with-config"],
    ["deploy", "--env=prod", "--image=api=2", "--image=web=3", "--health-url=api=http://h/x"],
    ["--version"],
]
REFUSED = [["nothing"], ["get", "--repo=a", "--env=p", "extra"], ["plan", "--date=1", "--date=2", "--env=p"]]


@pytest.mark.parametrize("argv", LINES, ids=lambda argv: " ".join(argv) or "none")
def test_a_line_parses_as_docopt_parses_it(argv: list[str]) -> None:
    assert parse_command_line(argv).given == dict(docopt(USAGE, argv=argv, default_help=False, version=None))


@pytest.mark.parametrize("argv", REFUSED, ids=lambda argv: " ".join(argv) or "none")
def test_a_line_docopt_refuses_is_refused(argv: list[str]) -> None:
    with pytest.raises(DocoptExit):
        docopt(USAGE, argv=argv, default_help=False, version=None)
    with pytest.raises(DocoptExit):
        parse_command_line(argv)


def test_the_pattern_of_a_line_is_the_copy_deepcopy_would_make() -> None:
    built, _ = _parser()
    ours, theirs = _fresh(built, {}), copy.deepcopy(built)

    def shared(pattern: object) -> list[int]:  # which leaves are one object (docopt's fix_identities)
        ids: dict[int, int] = {}
        return [ids.setdefault(id(leaf), len(ids)) for leaf in pattern.flat()]  # type: ignore[attr-defined]

    assert repr(ours) == repr(theirs)
    assert shared(ours) == shared(theirs)
    assert not {id(leaf) for leaf in ours.flat()} & {id(leaf) for leaf in built.flat()}


def test_an_answer_shares_no_list_with_the_next() -> None:
    first = parse_command_line(["deploy", "--env=prod", "--image=api=2"])
    first.given["--health-url"].append("api=http://changed")  # type: ignore[union-attr]
    assert parse_command_line(["deploy", "--env=prod", "--image=api=2"]).texts("--health-url") == []


def test_version_loads_neither_the_commands_nor_the_http_stack() -> None:
    """`rollback.py --version` answers at once: the commands and requests load only for a command."""
    probe = ("import sys; from fleetrewind.cli import main; code = main(['--version']); "
             "print(code, sorted(m for m in sys.modules if m.split('.')[0] == 'requests' "
             "or m.startswith(('fleetrewind.commands', 'fleetrewind.settings'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert done.stdout.splitlines() == [f"fleetrewind {__version__}", "0 []"]
