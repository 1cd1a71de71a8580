"""The list of signals handled like SIGTERM, and the ones deliberately left alone (issue #22, item 3)."""

from __future__ import annotations

import os
import signal

import pytest

from fleetrewind.cli import Signalled, _signals_end_the_command
from fleetrewind.stopsignals import LEFT_ALONE, STOP_SIGNALS, signal_name

# man 7 signal: the signals whose default action is Term or Core (Linux)
ENDS_THE_PROCESS = {"SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
                    "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGXCPU",
                    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGPWR", "SIGSYS"}


def test_every_signal_that_ends_the_process_is_handled_or_left_alone_on_purpose() -> None:
    handled = {signal_name(s) for s in STOP_SIGNALS}
    assert ENDS_THE_PROCESS - set(LEFT_ALONE) <= handled
    assert not handled & set(LEFT_ALONE)
    rt = set(range(int(signal.SIGRTMIN), int(signal.SIGRTMAX) + 1))
    assert rt <= set(STOP_SIGNALS)  # real-time signals end the process by default too
    assert signal.SIGCHLD not in STOP_SIGNALS and signal.SIGWINCH not in STOP_SIGNALS and signal.SIGCONT not in STOP_SIGNALS


def test_python_ignores_sigpipe_and_sigxfsz_from_the_start() -> None:
    """Left alone on purpose: the write fails (EPIPE, EFBIG) and the tool handles the error."""
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGALRM, signal.SIGXCPU, signal.SIGRTMIN + 2])
def test_outside_a_rollout_a_stop_signal_ends_the_command_by_name(sig: int) -> None:
    with pytest.raises(Signalled) as raised, _signals_end_the_command():
        os.kill(os.getpid(), sig)
        for _ in range(1000):  # the handler runs between two bytecodes of the main thread
            pass
    assert raised.value.name == signal_name(sig)
    assert signal.getsignal(sig) == signal.SIG_DFL  # the previous handler is back


def test_real_time_signals_are_named() -> None:
    assert signal_name(int(signal.SIGRTMIN) + 3) == "SIGRTMIN+3"
    assert signal_name(signal.SIGUSR1) == "SIGUSR1"


def test_a_signal_after_the_command_has_returned_leaves_its_exit_status_alone() -> None:
    """The process's own command (rollback.py) ignores stop signals once it has returned: a late
    SIGTERM (a storm of them from Jenkins) used to turn its exit status into the signal's."""
    try:
        with _signals_end_the_command(settle=True):
            pass
        for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP, signal.SIGINT):
            assert signal.getsignal(sig) == signal.SIG_IGN
            os.kill(os.getpid(), sig)  # would end the test process if not ignored
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)


def test_in_process_callers_get_their_handlers_back() -> None:
    with _signals_end_the_command():
        pass
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
