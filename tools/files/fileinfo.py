"""Facts about workspace files: which ones are not ignored, and which ones are binary."""
from __future__ import annotations

import mimetypes
import os
import subprocess
from pathlib import Path

SNIFF_BYTES = 8192
_MAGIC = [
    (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"), (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"), (b"\x1f\x8b", "gzip archive"), (b"\x7fELF", "ELF executable"),
    (b"SQLite format 3", "SQLite database"), (b"\xca\xfe\xba\xbe", "Java class / Mach-O"),
]


def list_files(root: Path, under: Path) -> list[str]:
    """Root-relative POSIX paths of existing files below `under`, hiding .git, anything .gitignore'd, and symlinks
    that lead outside the root (grep must not read through them)."""
    args = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", str(under)]
    try:
        proc = subprocess.run(args, cwd=root, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        proc = None
    if proc is None or proc.returncode != 0:
        return _walk(root, under)
    names = dict.fromkeys(name for name in proc.stdout.decode("utf-8", "replace").split("\0") if name)
    return [name for name in names if _inside_file(root, root / name)]


def _walk(root: Path, under: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(under):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            path = Path(folder) / name
            if _inside_file(root, path):
                found.append(path.relative_to(root).as_posix())
    return found


def _inside_file(root: Path, path: Path) -> bool:
    if not path.is_symlink():
        return path.is_file()
    real = Path(os.path.realpath(path))
    return real.is_relative_to(root) and real.is_file()


def binary_kind(head: bytes, name: str) -> str | None:
    """A human name for the file type when `head` (the first bytes) looks binary, else None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if b"\x00" not in head:
        return None
    guessed = mimetypes.guess_type(name)[0]
    return guessed or "binary data"


def human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"
