"""The command line: parse with docopt, build Settings, dispatch, turn errors into exit codes.

``main()`` is the only place that knows about exit codes and the only place that prints an
error; everything below raises :class:`RollbackError` subclasses.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Callable, Mapping, Sequence, TextIO

from docopt import DocoptExit, docopt

from . import __version__
from .console import Console, setup_logging
from .errors import EXIT_FAILED, EXIT_USAGE, RollbackError
from .secret import Secret, redact
from .settings import Settings, from_args
from .usage import USAGE

log = logging.getLogger(__name__)

# command -> module under fleetrewind.commands exposing ``execute(settings, console) -> int``.
HANDLERS: Mapping[str, str] = {
    "get": "get",
    "dates": "dates",
    "plan": "plan",
    "run": "run",
    "undo": "undo",
    "deploy": "deploy",
}


def _handler(command: str) -> Callable[[Settings, Console], int]:
    module = importlib.import_module(f"fleetrewind.commands.{HANDLERS[command]}")
    return module.execute  # type: ignore[no-any-return]


def _usage_lines() -> str:
    lines = USAGE.split("Usage:", 1)[1].split("\n\n", 1)[0]
    return "Usage:" + lines


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run one command; return its exit code (0 done, 1 failed, 2 usage, 3 refused, 4 unreachable)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        args = docopt(USAGE, argv=argv, default_help=False, version=None)
    except DocoptExit:
        # docopt's message repeats what was typed (a --pwd value included): never show it.
        print(_usage_lines(), file=stderr)
        print("error: invalid command line; see the usage above or --help", file=stderr)
        return EXIT_USAGE
    if args.get("--help"):
        print(USAGE, file=stdout)
        return 0
    if args.get("--version"):
        print(f"fleetrewind {__version__}", file=stdout)
        return 0

    secrets = _raw_secrets(args, environ)
    console = Console(stdout=stdout, stderr=stderr, secrets=secrets)
    try:
        settings = from_args(args, environ)
        console.quiet, console.verbose = settings.quiet, settings.verbose
        console.secrets = secrets + settings.secrets()
        setup_logging(verbose=settings.verbose, stderr=stderr)
        if settings.tls.insecure:
            console.warn("--insecure: TLS certificates are NOT verified; anyone on the path can read credentials")
        return _handler(settings.command)(settings, console)
    except RollbackError as err:
        console.error(str(err))
        return err.exit_code
    except KeyboardInterrupt:
        console.error("interrupted; nothing further was started")
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line, no secret, traceback only with --verbose
        if args.get("--verbose"):
            log.exception("internal error")
        console.error(redact(f"internal error: {type(exc).__name__}: {exc} (rerun with --verbose for details)",
                             secrets))
        return EXIT_FAILED


def _raw_secrets(args: Mapping[str, object], environ: Mapping[str, str]) -> list[Secret | None]:
    """Secrets known before Settings exists, so even a settings error cannot echo them."""
    values = [args.get("--pwd"), args.get("--slack")] + [
        environ.get(name) for name in ("MARATHON_PASSWORD", "REGISTRY_PASSWORD", "SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN")
    ]
    return [Secret(v) for v in values if isinstance(v, str) and v]


def run_main() -> None:
    """Console-script entry point."""
    sys.exit(main())
