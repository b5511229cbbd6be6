"""Stopping on a signal: SIGINT, SIGTERM (CI cancellation) and SIGHUP (a closed terminal) all take Ctrl-C's clean path."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def install() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so a run records its stop and exits 130.

    SIGINT too: a process started in the background by a non-interactive shell (CI launchers, `cmd &` in a
    script, batch workers) inherits SIGINT ignored, and Python then installs no Ctrl-C handler at all."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)


def deferred():
    """A stop signal during the final commit and result write would leave a half-finished end: ignore them
    briefly."""
    return _handled(lambda caught: signal.SIG_IGN)


def held():
    """Remember stop signals instead of acting on them (while a run's start is set up); yields the list of the
    signals caught, so the caller can stop cleanly right after."""
    return _handled(lambda caught: lambda signum, frame: caught.append(signum))


@contextmanager
def _handled(make_handler) -> Iterator[list[int]]:
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield caught
        return
    handler = make_handler(caught)
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield caught
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
