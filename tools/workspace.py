"""Path resolution confined to the workspace root, the protected-path check, and atomic writes."""
from __future__ import annotations

import os
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Iterator

from glm_agent.tools.base import ToolError, ToolSettings

PATH_MAX = 4096
RECORDS_DIR = ".glm-agent"  # run records (glm_agent.jobs.records.RUNS_DIR lives below it)
KEPT_DIRS = (".git", RECORDS_DIR)  # top-level folders no tool or command of the agent may change


class Workspace:
    """The repo root every path must stay inside, plus the settings the tools share."""

    def __init__(self, root: Path, settings: ToolSettings):
        self.root = Path(root).resolve()
        self.settings = settings

    def resolve(self, path: str) -> Path:
        """The real path for a model-given path, refusing anything that leaves the root."""
        text = (path or "").strip()
        if not text:
            raise ToolError("path is empty; give a path relative to the repository root, e.g. 'src/app.py'.")
        if "\x00" in text:
            raise ToolError("path contains a NUL byte.")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate escape from JSON ("\udcff")
            raise ToolError("path is not valid Unicode text; name files with ordinary characters.") from None
        if size > PATH_MAX:
            raise ToolError(f"path is {len(text):,} characters long; no file path is longer than {PATH_MAX} bytes.")
        if text.startswith("~"):
            raise ToolError(f"'{text}': '~' is not expanded; give a path inside the repository {self.root}.")
        given = Path(text)
        joined = given if given.is_absolute() else self.root / given
        lexical = Path(os.path.normpath(joined))
        if not _inside(lexical, self.root):
            raise ToolError(
                f"'{text}' is outside the workspace {self.root}; every path must stay inside the repository."
            )
        try:
            real = lexical.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long for the file system
            raise ToolError(f"'{text}' cannot be used: {getattr(exc, 'strerror', None) or exc}.") from None
        if not _inside(real, self.root):
            raise ToolError(
                f"'{text}' leads outside the workspace {self.root} through a symlink (to {real}); refused."
            )
        try:
            mode = real.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            return real
        except OSError as exc:
            raise ToolError(f"'{text}' cannot be used: {exc.strerror}.") from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ToolError(f"'{text}' is a device, FIFO or socket, not a regular file; refused.")
        return real

    def rel(self, real: Path) -> str:
        """Repo-relative POSIX form of a resolved path ('.' for the root)."""
        return Path(real).relative_to(self.root).as_posix() or "."

    def check_writable(self, real: Path) -> None:
        """Refuse writes into .git and into paths the run was told to leave alone."""
        rel = self.rel(real)
        top = rel.split("/", 1)[0]
        if top == ".git":
            raise ToolError(f"'{rel}' is inside .git; git internals are never edited directly. Use the git tools.")
        if top == RECORDS_DIR:
            raise ToolError(f"'{rel}' is inside {RECORDS_DIR}/, where glm-agent keeps its run records; never edited.")
        for pattern in self.settings.protected:
            if matches_protected(rel, pattern):
                raise ToolError(
                    f"'{rel}' is protected (matches '{pattern}'): this run may not modify it. "
                    "Change the code under test instead; only a human can lift this with --allow-test-edits."
                )


def matches_protected(rel: str, pattern: str) -> bool:
    """Glob match against the path, any of its parent directories, or (for slash-free globs) any component."""
    pattern = pattern.strip().rstrip("/")
    if not pattern:
        return False
    parts = PurePosixPath(rel).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    candidates = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
    for glob in candidates:
        if any(fnmatch(prefix, glob) for prefix in prefixes):
            return True
        if "/" not in glob and any(fnmatch(part, glob) for part in parts):
            return True
    return False


def protected_among(paths: list[str], patterns: list[str]) -> list[str]:
    """The paths that match any of the protected globs, in their order."""
    return [p for p in paths if any(matches_protected(p, pattern) for pattern in patterns)]


def atomic_write(real: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder and rename it over the target, keeping its mode."""
    real.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with _signals_deferred():  # Ctrl-C between creating the temporary file and its try block would leak it
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, real)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM, SIGHUP and the run's deadline alarm until the block is done, then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGALRM")
    signals = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous = {sig: signal.getsignal(sig) for sig in signals if signal.getsignal(sig) is not None}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(held):
            signal.raise_signal(sig)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
