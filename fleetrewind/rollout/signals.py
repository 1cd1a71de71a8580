"""While a rollout changes the fleet, every signal that would end the process stops it cleanly instead."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from ..console import Console
from ..stopsignals import STOP_SIGNALS, signal_name


@contextmanager
def stop_on_signals(stop: threading.Event, console: Console) -> Iterator[None]:
    """Every signal that would end the process (SIGINT, SIGTERM: a Jenkins abort, SIGHUP: an ssh session or
    VPN dropped, SIGUSR1, SIGQUIT, SIGXCPU..., see stopsignals) starts nothing new;
    in-flight work is reported."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        if not stop.is_set():
            console.warn(f"{signal_name(signum)} received: starting nothing new, writing the report")
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
