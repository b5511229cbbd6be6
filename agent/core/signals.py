"""Stopping on a signal: SIGINT, SIGTERM (CI cancellation) and SIGHUP (a closed terminal) all take Ctrl-C's clean
path; SIGALRM ends a step that outlives the run's time limit."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from glm_agent.core.stops import Deadline

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


@contextmanager
def hard_deadline(seconds: float | None) -> Iterator[None]:
    """The loop checks the wall clock between steps; this timer also ends a step (a slow request or command)."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise Deadline(f"timeout limit reached ({seconds:g}s) in the middle of a step")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
