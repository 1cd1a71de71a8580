"""Every signal that would end the process, handled like SIGTERM (docs/reliability.md, "Signals").

A signal whose default action ends the process (``man 7 signal``: Term or Core) would end a run
between two writes: no report, no JUnit, no ledger line, the lock file left behind. Each one that
can arrive from outside is caught instead; these are deliberately left as they are:

- SIGKILL and SIGSTOP cannot be caught (the lock's flock is released by the kernel; the state
  store keeps its run-in-flight record for ``status``);
- SIGSEGV, SIGBUS, SIGFPE and SIGILL report a fault of the process itself, from which Python
  cannot go on;
- SIGPIPE and SIGXFSZ are ignored by Python from the start: a write then fails with EPIPE or
  EFBIG, which the tool handles (a closed stdout, a full disk).
"""

from __future__ import annotations

import signal

_NAMES = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTRAP", "SIGABRT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGTERM",
          "SIGSTKFLT", "SIGXCPU", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGPWR", "SIGSYS", "SIGEMT", "SIGLOST",
          "SIGINFO")
LEFT_ALONE = ("SIGKILL", "SIGSTOP", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGPIPE", "SIGXFSZ")


def _stop_signals() -> tuple[int, ...]:
    found = {int(getattr(signal, name)) for name in _NAMES if hasattr(signal, name)}
    if hasattr(signal, "SIGRTMIN"):  # real-time signals end the process by default too
        found.update(range(int(signal.SIGRTMIN), int(signal.SIGRTMAX) + 1))
    return tuple(sorted(found & set(signal.valid_signals())))


STOP_SIGNALS = _stop_signals()


def signal_name(signum: int) -> str:
    """``SIGUSR1``; a real-time signal as ``SIGRTMIN+3``."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIGRTMIN+{signum - int(signal.SIGRTMIN)}" if hasattr(signal, "SIGRTMIN") else f"signal {signum}"
