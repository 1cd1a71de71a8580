"""Reading what comes back in (files in --dump, caches, configs, server answers) as untrusted bytes.

Anyone who can write the dump folder can put a FIFO or a device where a file was (an ``open``
that never returns, or a read that never ends), a file of gigabytes, or JSON nested a hundred
thousand levels deep (Python's decoder then raises ``RecursionError``, not ``ValueError``).
Every file kind reads through :func:`read_text` and decodes through :func:`loads`, so each
caller's own ``OSError``/``ValueError`` handling turns these into its one clear error.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_FILE = 256 * 2**20  # bytes: a rollback.json of 10,000 releases is about 3 MB


def read_text(path: Path, *, limit: int = MAX_FILE) -> str:
    """A regular file's text (UTF-8), at most ``limit`` bytes; ``OSError`` with a ``strerror`` saying why not.

    Opened without blocking (a FIFO would wait for a writer forever); a folder is
    ``IsADirectoryError`` as ``Path.read_text`` gives it; ``UnicodeDecodeError`` as well.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file (a FIFO, socket or device)", str(path))
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"it is larger than {limit // 2**20} MB ({info.st_size} bytes)", str(path))
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(2**20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise OSError(errno.EFBIG, f"it is larger than {limit // 2**20} MB", str(path))
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8")


class TooDeep(ValueError):
    """JSON nested deeper than the decoder can follow."""


def loads(text: str | bytes) -> Any:
    """``json.loads``, with nesting too deep for the decoder a ``ValueError`` like any other bad JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise TooDeep("JSON nested too deeply") from None
