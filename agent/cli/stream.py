"""`--output-format stream-json`: one JSON object per line on stdout as the run goes, the full result last.

Every line has `type` and `v` (the schema version, STREAM_VERSION). The types are the run record's event types
(docs/output.md lists them), with `request` made `step` (its message list repeats the other events), plus
`text` and `thinking` (model output as it streams in) and `result` (the last line: the object `--json` prints).
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable, TextIO

from glm_agent.core.turn import Delta

STREAM_VERSION = 1
_DELTA_TYPES = {"content": "text", "reasoning": "thinking"}  # tool-call fragments arrive whole as tool_call


class StreamJson:
    """A display-like sink (event, delta, summary); `echo` is another display fed the same (the human one on
    stderr with --progress); `scrub` removes secret values from each line before it is written."""

    def __init__(self, out: TextIO | None = None, *, echo: Any = None, scrub: Callable[[str], str] = str):
        self.out, self.echo, self.scrub = out or sys.stdout, echo, scrub
        self._step = 0

    def delta(self, delta: Delta) -> None:
        kind = _DELTA_TYPES.get(delta.kind)
        if kind and delta.text:
            self._write({"type": kind, "step": self._step + 1, "text": delta.text})
        if self.echo is not None:
            self.echo.delta(delta)

    def event(self, event: dict) -> None:
        if event["type"] == "request":
            self._step = event.get("step", self._step + 1) - 1
            self._write({"type": "step", "step": self._step + 1, "t": round(time.time(), 3)})
        else:
            self._write({**event, "t": round(time.time(), 3)})
        if self.echo is not None:
            self.echo.event(event)

    def summary(self, result) -> None:
        """The last line: the result exactly as `--json` prints it."""
        if self.echo is not None:
            self.echo.summary(result)
        self._write({"type": "result", "result": result.to_dict()})

    def _write(self, record: dict) -> None:
        """A reader that went away (`| head -n 1`) ends the stream, not the run: its record is still written."""
        if self.out is None:
            return
        line = json.dumps({"type": record["type"], "v": STREAM_VERSION, **record}, ensure_ascii=False, default=str)
        try:
            self.out.write(self.scrub(line) + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):  # ValueError: the file was closed
            _quiet(self.out)
            self.out = None


def _quiet(out: TextIO) -> None:
    """Point the dead pipe's descriptor at /dev/null, so Python's flush at exit neither fails nor says so."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    except (OSError, ValueError):
        pass
