"""Atomic file writes: a temp file in the same folder, fsync, then rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import UsageError
from .secret import redact


def write_text(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text`` so that readers see the old file or the new one, never half.

    Every file the tool writes (index, HTML, reports, JUnit, snapshots, cache) passes the redaction.
    """
    text = redact(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path: Path, data: object, *, mode: int = 0o644) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", mode=mode)


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
