"""Stopping on a signal: SIGTERM (CI cancellation) and SIGHUP (a closed terminal) take Ctrl-C's clean path."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def install() -> None:
    """Make SIGTERM and SIGHUP raise KeyboardInterrupt, so a run records its stop and exits 130."""
    for sig in STOP_SIGNALS[1:]:
        signal.signal(sig, _interrupt)


@contextmanager
def deferred() -> Iterator[None]:
    """A stop signal during the final commit and result write would leave a half-finished end: ignore them
    briefly (main thread only; signals are not delivered elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
