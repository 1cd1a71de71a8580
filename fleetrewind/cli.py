"""The command line: parse with docopt, build Settings, dispatch, turn errors into exit codes.

``main()`` is the only place that knows about exit codes and the only place that prints an
error; everything below raises :class:`RollbackError` subclasses.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import signal
import sys
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence, TextIO

from docopt import DocoptExit

from . import __version__
from .console import Console, setup_logging
from .errors import EXIT_FAILED, EXIT_USAGE, RollbackError
from .secret import REGISTRY, Secret, redact, split_userinfo, weak_secrets
from .stopsignals import STOP_SIGNALS, signal_name
from .usage import USAGE, CommandLine, parse_command_line

if TYPE_CHECKING:
    from .settings.build import Door

log = logging.getLogger(__name__)

# The commands, their settings and the HTTP stack are imported when a command runs, not for
# --version or --help (docs/how-it-works.md, "Start-up").


def handler(command: str) -> Callable[[Door, Console], int]:
    """The command (fleetrewind/commands/<command>.py): its own settings, made at the door -> use case ->
    output -> the exit code."""
    from .settings import build

    execute = importlib.import_module(f"{__package__}.commands.{command}").execute
    settings = getattr(build, f"{command}_settings")

    def run(door: Door, console: Console) -> int:
        code: int = execute(settings(door), console)
        return code
    return run


def _usage_lines() -> str:
    lines = USAGE.split("Usage:", 1)[1].split("\n\n", 1)[0]
    return "Usage:" + lines


_OPTION = re.compile(r"--[a-z][a-z-]*")
_SHORT = {"-h": "--help", "-q": "--quiet", "-v": "--verbose"}


def _command_usage() -> dict[str, str]:
    """command -> the text of its usage line(s)."""
    from .settings.build import COMMANDS
    lines: dict[str, str] = {}
    current = None
    for line in _usage_lines().splitlines()[1:]:
        found = re.match(r"\s*rollback\.py (\S+)", line)
        if found:
            current = found.group(1) if found.group(1) in COMMANDS else None
            if current:
                lines[current] = line
        elif current:
            lines[current] += " " + line.strip()
    return lines


def usage_problem(argv: Sequence[str]) -> str:
    """What is wrong with a command line docopt refused: option names, never a typed value."""
    from .settings.build import COMMANDS
    commands = _command_usage()
    if not argv:
        return f"no command (commands: {', '.join(COMMANDS)})"
    command = argv[0]
    if command not in commands:
        # Never echo it: a secret typed in the wrong place would land on the screen.
        return f"unknown command (commands: {', '.join(COMMANDS)})"
    known = set(_OPTION.findall(USAGE))
    takes_value = set(re.findall(r"(--[a-z][a-z-]*)=<", USAGE))
    options_section = set(_OPTION.findall(USAGE.split("Options:", 1)[1].split("\n\n", 1)[0]))
    line = commands[command]
    accepted = set(_OPTION.findall(line)) | {"--quiet", "--verbose"}
    if "[options]" in line:  # docopt: [options] is every Options: entry no usage line names
        accepted |= options_section - set(_OPTION.findall(_usage_lines()))
    given: list[str] = []
    positional = False
    tokens = iter(argv[1:])
    for token in tokens:
        if token == "--":
            positional = positional or any(True for _ in tokens)
            break
        if token.startswith("--"):
            name = token.split("=", 1)[0]
            prefixed = [o for o in known if o.startswith(name)]
            resolved = name if name in known else (prefixed[0] if len(prefixed) == 1 else None)
            if resolved is None:
                if len(prefixed) > 1:
                    return f"ambiguous option {name} (one of {', '.join(sorted(prefixed))})"
                return f"unknown option {_shown_option(name, known)}"
            if resolved in takes_value and "=" not in token and next(tokens, None) is None:
                return f"{resolved} needs a value"  # (a value given is never looked at, never shown)
            given.append(resolved)
        elif token.startswith("-") and len(token) > 1:
            for letter in token[1:]:
                if f"-{letter}" not in _SHORT:
                    return f"unknown option -{letter}"
                given.append(_SHORT[f"-{letter}"])
        else:
            positional = True
    repeatable = set(re.findall(r"(--[a-z][a-z-]*)=<[^>]*>\.\.\.", line))
    for name in given:
        if name not in accepted:
            return f"{command} does not accept {name}"
        if given.count(name) > 1 and name not in repeatable:
            return f"{name} is given more than once"
    required = re.sub(r"\[[^\[\]]*\]", "", line)
    for group in re.findall(r"\(([^()]*)\)", required):
        names = _OPTION.findall(group)
        present = [n for n in names if n in given]
        if not present:
            return f"{command} needs {' or '.join(names)}"
        if len(present) > 1:
            return f"{' and '.join(present)} cannot be used together"
    for name in _OPTION.findall(re.sub(r"\([^()]*\)", "", required)):
        if name not in given:
            return f"{command} needs {name}"
    if positional:
        return f"{command} takes no other arguments (the extra one is not shown)"
    return f"{command} does not accept these arguments"


def _shown_option(name: str, known: set[str]) -> str:
    """An unknown option's name, unless it may carry a value (``--pwd:SECRET``, ``--pwdSECRET``)."""
    stem = [o for o in known if name.startswith(o)]
    if stem:
        return f"starting with {max(stem, key=len)} (the rest is not shown)"
    if not _OPTION.fullmatch(name) or len(name) > 30:
        return "(not shown: it is not an option name)"
    return name


def _is_system_bundle(path: str | None) -> bool:
    """REQUESTS_CA_BUNDLE naming the operating system's own CA file (Debian images set it so) replaces nothing."""
    import ssl  # only when a CA variable is set: a plain-http get never loads it

    paths = ssl.get_default_verify_paths()
    for system in (paths.cafile, paths.openssl_cafile):
        try:
            if path and system and os.path.samefile(path, system):
                return True
        except OSError:
            continue
    return False


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run one command; return its exit code (0 done, 1 failed, 2 usage, 3 refused, 4 unreachable)."""
    settle = argv is None  # the process's own command line: rollback.py, the console script
    argv = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    REGISTRY.reset()
    if argv == ["--version"]:  # what docopt would answer, without building its parser (start-up under 0.2 s)
        print(f"fleetrewind {__version__}", file=stdout)
        return 0
    try:
        args = parse_command_line(argv)
    except DocoptExit:
        # docopt's message repeats what was typed (a --pwd value included): never show it.
        _raw_secrets(CommandLine({"--pwd": _value_after(argv, "--pwd"), "--slack": _value_after(argv, "--slack")}),
                     environ)
        usage = Console(stdout=stdout, stderr=stderr)
        usage.plain(_usage_lines())
        usage.error(f"invalid command line: {usage_problem(argv)}; see the usage above or --help")
        return EXIT_USAGE
    if args.switch("--help"):
        print(USAGE, file=stdout)
        return 0
    if args.switch("--version"):
        print(f"fleetrewind {__version__}", file=stdout)
        return 0

    secrets = _raw_secrets(args, environ)
    console = Console(stdout=stdout, stderr=stderr, secrets=secrets)
    with _signals_end_the_command(settle=settle), _thread_failures_redacted(console):
        try:
            return _run(args, environ, console, secrets)
        finally:
            _drop_closed(stdout)


@contextmanager
def _thread_failures_redacted(console: Console) -> Iterator[None]:
    """An exception that escapes a background thread (the event feed, a Slack message) is one redacted
    warning, with its traceback only under --verbose: Python's own hook prints it raw on stderr."""
    def hook(failure: threading.ExceptHookArgs) -> None:
        if failure.exc_type is SystemExit:
            return
        name = failure.thread.name if failure.thread else "?"
        if console.verbose and failure.exc_value is not None:
            log.warning("background thread %s failed", name, exc_info=failure.exc_value)
        console.warn(f"a background thread ({name}) failed: {failure.exc_type.__name__}: {failure.exc_value}; "
                     "the run goes on without it (rerun with --verbose for details)")

    previous = threading.excepthook
    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous


def _run(args: CommandLine, environ: Mapping[str, str], console: Console,
         secrets: list[Secret | None]) -> int:
    # logging first: a traceback of a settings bug passes the redaction too (never Python's last resort)
    setup_logging(verbose=args.switch("--verbose"), stderr=console.stderr)
    from .settings import build
    from .settings.values import CA_VARIABLES
    try:
        door = build.read(args, environ)
        settings = door.common()
        console.quiet, console.verbose = settings.quiet, settings.verbose
        console.secrets = secrets + list(settings.secrets)
        setup_logging(verbose=settings.verbose, stderr=console.stderr)
        for weak in weak_secrets():
            console.warn(f"{weak.name} is short or common (under 8 characters, all digits, or a word such as a "
                         "branch name): it is hidden where credentials appear, not everywhere; use a longer one")
        if settings.tls.insecure:
            console.warn("--insecure: TLS certificates are NOT verified; anyone on the path can read credentials")
        elif settings.tls.source in CA_VARIABLES and not _is_system_bundle(settings.tls.ca_bundle):
            console.warn(f"TLS: trusting only the CAs in {settings.tls.ca_bundle} (from {settings.tls.source}), "
                         "not the default CAs; set --ca-bundle or ROLLBACK_CA_BUNDLE to choose explicitly")
        early = {id(weak) for weak in weak_secrets()}
        try:
            return handler(settings.command)(door, console)
        finally:  # secrets found inside the run's data (a tag, an image name) are weak from then on
            for weak in weak_secrets():
                if id(weak) not in early:
                    console.warn(f"{weak.name} appears inside an image name or app id of this run: it is hidden "
                                 "where credentials appear, not everywhere (files keep their data); use another one")
    except RollbackError as err:
        console.error(str(err))
        return err.exit_code
    except KeyboardInterrupt:
        console.error("interrupted; nothing further was started")
        return EXIT_FAILED
    except Signalled as sig:  # before a rollout's own handler (get, or a run before its snapshot)
        console.error(f"{sig.name} received: stopped; nothing more is changed in Marathon "
                      "(files are replaced whole or not at all)")
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line, no secret, traceback only with --verbose
        if args.switch("--verbose"):
            log.exception("internal error")
        console.error(redact(f"internal error: {type(exc).__name__}: {exc} (rerun with --verbose for details)",
                             secrets))
        return EXIT_FAILED


class Signalled(BaseException):  # not Exception: no best-effort `except Exception` may swallow it
    """SIGTERM, SIGHUP or another stop signal outside a rollout: the command ends with one line, not silently."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.name = signal_name(signum)


@contextmanager
def _signals_end_the_command(*, settle: bool = False) -> Iterator[None]:
    """Every signal that would end the process (SIGINT apart: KeyboardInterrupt) becomes :class:`Signalled`
    (a rollout installs its own handler over this). ``settle`` (the process's own command): once the
    command has returned, those signals are ignored, so a late one cannot turn its exit status into
    the signal's."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    over = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if not over.is_set():
            raise Signalled(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS if sig != signal.SIGINT}
    try:
        yield
    finally:
        over.set()
        for sig, old in previous.items():
            signal.signal(sig, signal.SIG_IGN if settle else old)
        if settle:  # nor a late Ctrl-C's KeyboardInterrupt at the exit
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _drop_closed(stream: TextIO) -> None:
    """`rollback.py run | head`: once the reader is gone, later writes (and the exit flush) go nowhere."""
    try:
        stream.flush()
    except (BrokenPipeError, OSError, ValueError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass


def _raw_secrets(args: CommandLine, environ: Mapping[str, str]) -> list[Secret | None]:
    """Secrets known before Settings exists, so even a settings error cannot echo them."""
    values = [("--pwd", args.text("--pwd")), ("--slack", args.text("--slack"))] + [
        (name, environ.get(name)) for name in ("MARATHON_PASSWORD", "REGISTRY_PASSWORD", "SLACK_WEBHOOK_URL",
                                               "SLACK_BOT_TOKEN")
    ]
    secrets: list[Secret | None] = [Secret(v, name) for name, v in values if isinstance(v, str) and v]
    from .transport import PROXY_VARIABLES
    for name in PROXY_VARIABLES:  # a proxy URL's password (the transport reads these variables)
        _, userinfo, _ = split_userinfo(environ.get(name) or environ.get(name.lower()) or "")
        if userinfo:
            secrets.append(Secret(userinfo.partition(":")[2] or userinfo, name))
    return secrets


def _value_after(argv: Sequence[str], option: str) -> str | None:
    """The value typed for ``option`` in a command line docopt refused (to hide it, never to use it)."""
    for number, token in enumerate(argv):
        if token.startswith(option + "="):
            return token.split("=", 1)[1]
        if token == option and number + 1 < len(argv):
            return argv[number + 1]
    return None


def run_main() -> None:
    """Console-script entry point."""
    sys.exit(main())
