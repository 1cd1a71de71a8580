"""A JSON-lines history of outcomes: what was deployed, when, by whom, how it ended.

It names "the last state that worked" for ``run --to=last-good``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..releases.imageref import check_image
from ..releases.tags import check_service
from ..platform.timeline import Failed, parse_instant
from ..model.states import GOOD_STATES, Status
from ..inputs import loads, read_text

REVERTED = Status.ROLLED_BACK   # a service's status when it failed and was put back on its snapshot image


def append(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, sort_keys=True) + "\n"  # typed values only: no free text, no secret
    # O_APPEND writes of one short line are atomic enough for concurrent appenders. Never through a
    # symbolic link (planted in a shared --dump, it would make this user append to any file it can
    # write), and never blocking on a FIFO put in the ledger's place.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file (a FIFO, socket or device)", str(path))
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def last_good(path: Path, env: str) -> dict[str, Any]:
    """The newest entry of ``env`` that ended well and recorded the fleet's images.

    The ledger is read back as untrusted input: the chosen entry's services and images get the
    checks typed input gets, and a bad one is one error naming the file and line.
    """
    lines = _lines(path)
    if lines is None:
        raise UsageError(f"no ledger at {path}: nothing has been deployed with this tool yet; "
                         "use --date instead of --to=last-good")
    for number in range(len(lines), 0, -1):
        try:
            entry = loads(lines[number - 1])
        except ValueError:
            continue  # a torn last line after a crash is skipped, not fatal
        if isinstance(entry, dict) and entry.get("env") == env and entry.get("state") in GOOD_STATES \
                and isinstance(entry.get("images"), dict) and entry["images"]:
            where = f"the ledger {path}, line {number}"
            entry["images"] = {check_service(str(service), flag=f"{where}: service"):
                               check_image(image, f"{where}: image of {str(service)[:80]}")
                               for service, image in entry["images"].items()}
            return entry
    raise UsageError(f"the ledger {path} has no successful state for {env}; use --date instead")


def _lines(path: Path) -> list[str] | None:
    """The ledger's lines; None when there is no ledger yet."""
    try:
        return read_text(path).splitlines()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise UsageError(f"cannot read the ledger {path}: it is a folder") from None
    except OSError as exc:
        raise UsageError(f"cannot read the ledger {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"the ledger {path} is not UTF-8 text (byte {exc.start}); "
                         "fix or move it, or use --date instead") from None


SUMMARY_KEYS = ("at", "command", "env", "date", "actor", "state", "report")


def last_entry(path: Path, env: str) -> dict[str, str] | None:
    """The newest entry of ``env``, however it ended, as short text fields (None without one). Reads only."""
    lines = _lines(path)
    if lines is None:
        return None
    for line in reversed(lines):
        try:
            entry = loads(line)
        except ValueError:
            continue  # a torn last line after a crash
        if isinstance(entry, dict) and entry.get("env") == env and entry.get("kind", "run") == "run":
            return {k: str(entry[k])[:200] for k in SUMMARY_KEYS if isinstance(entry.get(k), (str, int))}
    return None


def failed_deploys(path: Path, env: str) -> dict[str, list[Failed]]:
    """Per service, the images this tool deployed that failed and were put back (evidence they did not run).

    Entries written before the ledger recorded ``started_at`` and ``tried`` say nothing here.
    """
    try:
        lines = read_text(path).splitlines()
    except (OSError, ValueError):
        return {}
    found: dict[str, list[Failed]] = {}
    for line in lines:
        try:
            entry = loads(line)
            if not isinstance(entry, dict) or entry.get("env") != env or not isinstance(entry.get("tried"), dict):
                continue
            started, finished = parse_instant(str(entry["started_at"])), parse_instant(str(entry["at"]))
        except (ValueError, KeyError):
            continue  # a torn or older line is no evidence
        for service, tried in entry["tried"].items():
            if isinstance(tried, dict) and tried.get("status") == REVERTED and isinstance(tried.get("image"), str):
                found.setdefault(str(service), []).append(Failed(tried["image"], started, finished))
    return found
