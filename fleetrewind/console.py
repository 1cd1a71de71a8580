"""Where output goes: results on stdout, progress and warnings on stderr."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import TextIO

from .secret import Secret, redact



class Console:
    """Results to stdout; progress (unless quiet) and warnings to stderr; secrets redacted."""

    def __init__(self, *, stdout: TextIO | None = None, stderr: TextIO | None = None, quiet: bool = False,
                 verbose: bool = False, secrets: list[Secret | None] | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.quiet = quiet
        self.verbose = verbose
        self.secrets = secrets or []
        self.started = time.monotonic()
        self._lock = threading.Lock()  # deploy threads report at once: one whole line each
        self._closed: set[TextIO] = set()
        self.lost_output = False

    def _print(self, text: str, stream: TextIO) -> None:
        with self._lock:
            if stream in self._closed:
                return
            try:
                print(self._clean(text), file=stream, flush=True)
            except (BrokenPipeError, ValueError, OSError):
                # `run | head` closed the pipe (or the terminal went away): the run carries on
                # to its report; the lines meant for this stream are dropped from now on.
                self._closed.add(stream)
                self.lost_output = True

    def _clean(self, text: str) -> str:
        return redact(text, self.secrets)

    def result(self, text: str = "") -> None:
        self._print(text, self.stdout)

    def json(self, data: object) -> None:
        self.result(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False))

    def info(self, text: str) -> None:
        """A progress line: what is being done, how far, how long (stderr, hidden by --quiet)."""
        if not self.quiet:
            elapsed = time.monotonic() - self.started
            self._print(f"[{elapsed:6.1f}s] {text}", self.stderr)

    def warn(self, text: str) -> None:
        self._print(f"warning: {text}", self.stderr)

    def error(self, text: str) -> None:
        self._print(f"error: {text}", self.stderr)

    def plain(self, text: str) -> None:
        """A line on stderr without a prefix (the usage text above a usage error)."""
        self._print(text, self.stderr)


class RedactingFormatter(logging.Formatter):
    """``warning: fleetrewind.registry.cache: ...``: the record's own level, then the same redaction
    as every other line (--verbose tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(f"{record.levelname.lower()}: {super().format(record)}")


def setup_logging(*, verbose: bool, stderr: TextIO) -> None:
    """Debug logs only with --verbose; urllib3 stays quiet either way unless verbose.

    Both loggers that can speak (ours and urllib3's) write through one handler and
    :class:`RedactingFormatter`; a second call (tests run many commands) replaces it.
    """
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(RedactingFormatter("%(name)s: %(message)s"))
    for name, level in (("fleetrewind", logging.DEBUG if verbose else logging.WARNING),
                        ("urllib3", logging.DEBUG if verbose else logging.ERROR)):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
