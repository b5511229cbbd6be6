"""What `glm-agent batch` shows: a live progress line on stderr and the summary table at the end."""
from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """done, failed, running, cost so far and ETA; redrawn in place on a terminal, plain lines otherwise."""

    def __init__(self, total: int, stream: TextIO):
        self.total, self.stream = total, stream
        self.done = self.failed = 0
        self.cost = 0.0
        self.started = time.monotonic()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last = ""
        self._write(0, force=True)

    def task_done(self, row: dict, running: int) -> None:
        self.done += 1
        self.failed += 0 if row.get("success") else 1
        self.cost += float(row.get("cost_usd") or 0.0)
        status = "ok" if row.get("success") else row.get("stop_reason", "failed")
        # on a terminal the event goes above the live line (cleared first), elsewhere it is a plain line
        self.stream.write(("\r\x1b[K" if self.tty else "") + f"[batch] {row['id']}: {status}\n")
        self._write(running, force=True)

    def note(self, text: str) -> None:
        """A batch event (a quota pause, a task to run again) on its own line."""
        self.stream.write(("\r\x1b[K" if self.tty else "") + f"[batch] {text}\n")
        self.stream.flush()  # on a terminal the next tick redraws the live line below it

    def tick(self, running: int) -> None:
        if self.tty:
            self._write(running)

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def line(self, running: int) -> str:
        return (f"[batch] {self.done}/{self.total} done, {self.failed} failed, {running} running, "
                f"${self.cost:.4f}, ETA {self._eta()}")

    def _eta(self) -> str:
        if not self.done:
            return "?"
        if self.done >= self.total:
            return "0s"
        seconds = (time.monotonic() - self.started) / self.done * (self.total - self.done)
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"

    def _write(self, running: int, force: bool = False) -> None:
        text = self.line(running)
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
        elif force and text != self._last:
            self.stream.write(text + "\n")
        self._last = text
        self.stream.flush()


def summary_table(rows: list[dict]) -> str:
    """One line per task: id, status, stop reason, steps, tokens, cost, duration, branch (totals: batch.summary)."""
    header = ("id", "status", "stop_reason", "steps", "tokens", "cost_usd", "duration", "branch")
    body = [(str(r["id"]), "ok" if r.get("success") else "FAILED", str(r.get("stop_reason")), str(r.get("steps", 0)),
             str(r.get("tokens", 0)), f"{float(r.get('cost_usd') or 0):.4f}", f"{r.get('duration_s', 0):.1f}s",
             str(r.get("branch") or "-")) for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header).rstrip(), *(fmt.format(*row).rstrip() for row in body)])
