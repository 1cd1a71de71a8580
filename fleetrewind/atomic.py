"""Atomic file writes: a temp file in the same folder, fsync, then rename (replace) or link (create).

:func:`write_text` replaces a file the tool owns (``rollback.json``, the cache); :func:`create_text`
makes a file of a run (snapshot, report, JUnit) that must never replace another one.

No pattern pass runs over a file: every file is built from typed values that hold no secret (URLs
without their userinfo, a report whose free text was redacted when it was made), and a file the tool
reads back must come back exactly as it was written (docs/security.md).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

from .errors import UsageError


def write_text(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text`` so that readers see the old file or the new one, never half."""
    tmp = _whole_temp_file(path.parent, path.name, text, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


MAX_SUFFIX = 1000  # name-2 ... name-1000: a folder holding that many files of one second is refused


def create_text(folder: Path, stem: str, suffix: str, text: str, *, mode: int = 0o644) -> Path:
    """Create ``<stem><suffix>`` in ``folder``, or ``<stem>-2<suffix>``, ``-3``... when the name is taken.

    The whole text is written to a temp file first, then linked to the name (``link`` fails when
    the name exists, whatever holds it: a file, a link, a FIFO, a folder), so two runs of one
    second never overwrite each other and readers never see half a file. A file system without
    hard links gets ``O_CREAT | O_EXCL`` instead (the same exclusivity, written in place).
    """
    tmp = _whole_temp_file(folder, stem, text, mode)
    try:
        for number in range(1, MAX_SUFFIX + 1):
            path = folder / f"{stem}{'' if number == 1 else f'-{number}'}{suffix}"
            try:
                _create(tmp, path, text, mode)
            except FileExistsError:
                continue
            return path
        raise OSError(errno.EEXIST, f"{MAX_SUFFIX} files named {stem}-<n>{suffix} exist already")
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _whole_temp_file(folder: Path, name: str, text: str, mode: int) -> str:
    """``text`` in a new temp file of ``folder``, on disk (fsync), with ``mode``; removed if that fails."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        _write_all(fd, text)
        os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _write_all(fd: int, text: str) -> None:
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _create(tmp: str, path: Path, text: str, mode: int) -> None:
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        _write_all(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode), text)


def json_text(data: object) -> str:
    """The one JSON spelling of the files the tool writes: ``json.dumps(data, indent=2, ensure_ascii=False)``.

    With ``indent`` the json module leaves its C encoder for a generator per level: 30 to 60 ms for the
    1.3 MB rollback.json of 50 services x 100 releases, written on every ``get`` (docs/performance.md).
    The same text is built here by one recursive walk that quotes each string with json's own C
    quoting; anything it does not know (a key that is not a string, NaN, a type json would reject)
    goes to ``json.dumps`` itself, so its text or its error stays json's.
    """
    parts: list[str] = []
    try:
        _put(data, "\n", parts)
    except (_Unusual, RecursionError):
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    parts.append("\n")
    return "".join(parts)


class _Unusual(Exception):
    """A value :func:`_put` leaves to ``json.dumps``."""


_quote = json.encoder.encode_basestring  # the C quoting of ensure_ascii=False, where the C module exists
_INFINITE = (float("inf"), float("-inf"))


def _put(value: object, newline: str, parts: list[str]) -> None:
    """Append ``value`` spelled as json's indent=2 encoder spells it; ``newline`` is "\\n" + this level's indent."""
    if isinstance(value, str):
        parts.append(_quote(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in _INFINITE:
            raise _Unusual
        parts.append(float.__repr__(value))
    elif isinstance(value, (list, tuple)):
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            separator = "," + inner
            if type(item) is str:  # the common leaf, without a call
                parts.append(_quote(item))
            else:
                _put(item, inner, parts)
        parts.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unusual
            if type(item) is str:
                parts.append(f"{separator}{_quote(key)}: {_quote(item)}")
            else:
                parts.append(f"{separator}{_quote(key)}: ")
                _put(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "}")
    else:
        raise _Unusual


def write_json(path: Path, data: object, *, mode: int = 0o644) -> None:
    write_text(path, json_text(data), mode=mode)


def check_writable(folder: Path, what: str) -> None:
    """Find out now, before minutes of work, that ``folder`` can take files (exists or can be made)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=folder)
        try:
            os.write(fd, b"x")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except FileExistsError:
        raise UsageError(f"{what} {folder} is not a folder") from None
    except OSError as exc:
        raise UsageError(f"{what} {folder} is not a writable folder: {exc.strerror or type(exc).__name__}") from None
