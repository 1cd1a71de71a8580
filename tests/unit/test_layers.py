"""The house's floors, read from the code's own imports (docs/how-it-works.md, "The map"): every part of
fleetrewind imports only parts on a lower floor, and a command's settings go no further than the door."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "fleetrewind"

# Highest first; a part is a folder of fleetrewind/ or one of its top-level modules.
FLOORS: list[set[str]] = [
    {"__main__"},
    {"cli"},
    {"commands"},
    {"factory"},
    {"settings"},
    {"report", "notify"},
    {"rollout"},
    {"planning"},
    {"state"},
    {"marathon", "registry"},
    {"platform"},
    {"releases"},
    {"model"},
]
LEAVES = {"usage", "config_file", "transport", "session", "httprules", "directread", "deadline", "socksdeadline", "headerparse", "http_answers",
          "console", "progress", "cachefile", "atomic", "stopsignals", "secret", "errors", "instants", "inputs",
          "__init__"}
# Who may read a command's settings: the command line's reader, the commands, and the factory that opens
# the clients they describe. Everything below is handed typed values.
AT_THE_DOOR = {"__main__", "cli", "commands", "factory", "settings"}


def _floor(part: str) -> int:
    if part in LEAVES:
        return len(FLOORS)
    return next(number for number, parts in enumerate(FLOORS) if part in parts)


def _parts() -> set[str]:
    return {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
            if (p.is_file() and p.suffix == ".py") or (p / "__init__.py").is_file()}


@functools.cache  # one read of the package for the three tests
def _imports() -> frozenset[tuple[str, str, str]]:
    """(the importing part, the imported part, the importing file) for every import across parts."""
    found, parts = set(), _parts()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    targets = [".".join(base + [node.module])] if node.module else \
                        [".".join(base + [alias.name]) for alias in node.names]
                else:
                    targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target.startswith("fleetrewind."):
                    imported = target.split(".")[1]  # a name the package itself defines (__version__) is its __init__
                    found.add((module.split(".")[1], imported if imported in parts else "__init__", str(relative)))
    return frozenset(found)


def test_every_part_is_on_a_floor() -> None:
    placed = set().union(*FLOORS) | LEAVES
    assert _parts() - placed == set(), "a new part: give it a floor here and in docs/how-it-works.md"


def test_no_import_runs_back_up() -> None:
    upward = sorted(f"{file}: {source} imports {target}" for source, target, file in _imports()
                    if source != target and _floor(target) <= _floor(source) and target not in LEAVES)
    assert upward == []


def test_the_leaves_import_no_folder() -> None:
    folders = set().union(*FLOORS) - {"cli", "__main__", "factory"}
    assert sorted(f"{file} imports {target}" for source, target, file in _imports()
                  if source in LEAVES and target in folders) == []


def test_settings_stop_at_the_door() -> None:
    assert sorted(f"{file} imports the settings" for source, target, file in _imports()
                  if target == "settings" and source not in AT_THE_DOOR) == []
