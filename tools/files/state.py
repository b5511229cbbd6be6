"""What this run knows about files: the version it last saw (stale-write check), undo levels, changed paths."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from glm_agent.tools.base import ToolError

HASH_LIMIT = 16 * 1024 * 1024  # larger files are compared by mtime and size only
UNDO_LEVELS = 10
UNDO_BYTES = 64 * 1024 * 1024  # per file


@dataclass(frozen=True)
class Seen:
    """A file version as this run last read or wrote it."""

    mtime_ns: int
    size: int
    digest: str | None


class FileState:
    """Per-run memory of files, keyed by repo-relative path."""

    def __init__(self) -> None:
        self._seen: dict[str, Seen] = {}
        self._undo: dict[str, list[bytes | None]] = {}
        self._changed: dict[str, None] = {}

    def saw(self, rel: str, real: Path, data: bytes | None = None) -> None:
        """Remember the file as it is now (`data` avoids re-reading content the caller already holds)."""
        self._seen[rel] = _snapshot(real, data)

    def forget(self, rel: str) -> None:
        self._seen.pop(rel, None)

    def check_fresh(self, rel: str, real: Path) -> None:
        """Refuse to overwrite a file this run never saw, or one that changed on disk since."""
        seen = self._seen.get(rel)
        if seen is None:
            raise ToolError(
                f"'{rel}' already exists and this run has not read it; read_file it first (or use edit_file)."
            )
        if self.is_stale(rel, real):
            raise ToolError(
                f"'{rel}' changed on disk since this run last read or wrote it (another process or a command "
                "modified it). read_file it again before overwriting."
            )

    def is_stale(self, rel: str, real: Path) -> bool:
        seen = self._seen.get(rel)
        if seen is None:
            return False
        try:
            stat = real.stat()
        except FileNotFoundError:
            return True
        if (stat.st_mtime_ns, stat.st_size) == (seen.mtime_ns, seen.size):
            return False
        return seen.digest is None or stat.st_size != seen.size or _snapshot(real).digest != seen.digest

    def push_undo(self, rel: str, previous: bytes | None) -> None:
        """Keep the content before a write (None: the file did not exist) and mark the path changed."""
        levels = self._undo.setdefault(rel, [])
        levels.append(previous)
        del levels[:-UNDO_LEVELS]
        while len(levels) > 1 and sum(len(level or b"") for level in levels) > UNDO_BYTES:
            del levels[0]  # huge files keep fewer levels rather than filling memory
        self._changed[rel] = None

    def pop_undo(self, rel: str) -> bytes | None:
        levels = self._undo.get(rel)
        if not levels:
            raise ToolError(f"no edits of '{rel}' in this run to undo.")
        return levels.pop()

    def undo_depth(self, rel: str) -> int:
        return len(self._undo.get(rel, []))

    def changed(self) -> list[str]:
        return list(self._changed)


def _snapshot(real: Path, data: bytes | None = None) -> Seen:
    stat = real.stat()
    digest = None
    if stat.st_size <= HASH_LIMIT:
        content = data if data is not None and len(data) == stat.st_size else real.read_bytes()
        digest = hashlib.blake2b(content, digest_size=16).hexdigest()
    return Seen(stat.st_mtime_ns, stat.st_size, digest)
