"""Run records on disk: an append-only trajectory.jsonl flushed per event, and result.json written atomically."""
from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Iterable, Iterator

RUNS_DIR = Path(".glm-agent") / "runs"


def slugify(text: str, limit: int = 40) -> str:
    """A branch- and ref-safe slug of the task ("Fix the failing test!" -> "fix-the-failing-test")."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "task"


def new_run_id(task: str) -> str:
    """Sortable, unique and readable: 20261127-132550-fix-the-bug-3fa2."""
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{slugify(task, 24)}-{secrets.token_hex(2)}"


def secret_values(names: Iterable[str]) -> list[str]:
    """The values of these environment variables (the key names and the configured extra ones) to keep out of
    anything written or streamed."""
    import os

    return [os.environ.get(name, "").strip() for name in names]


class Redactor:
    """Replaces every secret value (6 characters or more: shorter ones would blank ordinary text) with ***."""

    def __init__(self, values: Iterable[str]):
        self._values = sorted({value for value in values if value and len(value) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "***")
        return text


class Recorder:
    """Appends one JSON line per event and flushes it, so a crash or Ctrl-C still leaves a readable record."""

    def __init__(self, run_dir: Path, *, redact: Iterable[str] = ()):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._scrub = Redactor(redact)
        self._file = open(self.run_dir / "trajectory.jsonl", "a", encoding="utf-8")

    def __call__(self, event: dict) -> None:
        line = json.dumps({"t": round(time.time(), 3), **event}, ensure_ascii=False, default=str)
        self._file.write(self._scrub(line) + "\n")
        self._file.flush()

    def write_result(self, result: dict) -> Path:
        """result.json via a temporary file and rename: never half written."""
        from glm_agent.tools.workspace import atomic_write

        path = self.run_dir / "result.json"
        atomic_write(path, (self._scrub(json.dumps(result, indent=2, ensure_ascii=False, default=str)) + "\n").encode())
        return path

    def close(self) -> None:
        self._file.close()


def read_events(run_dir: Path) -> Iterator[dict]:
    """The recorded events in order; a torn last line (killed mid-write) is skipped."""
    with open(Path(run_dir) / "trajectory.jsonl", encoding="utf-8") as handle:
        for line in handle:
            try:
                yield json.loads(line)
            except ValueError:
                continue
