"""One call run in a thread while the main thread goes on: the start snapshot and the import warm-ups."""
from __future__ import annotations

import threading
from typing import Any, Callable


class InBackground:
    """One call run in a thread; result() waits for it and returns its value or raises its exception (a call
    whose result is never asked for fails silently: the warm-up imports, which the main thread repeats)."""

    def __init__(self, name: str, call: Callable[[], Any]):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), name=f"glm-agent {name}", daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self._value = call()
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
