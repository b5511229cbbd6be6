"""read_file: numbered lines of a text file (streamed, so huge files stay cheap), or a directory listing."""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from glm_agent.tools.base import ToolError
from glm_agent.tools.files.fileinfo import (
    SNIFF_BYTES,
    binary_kind,
    human_size,
    list_files,
)
from glm_agent.tools.files.state import FileState
from glm_agent.tools.workspace import Workspace

if TYPE_CHECKING:
    from glm_agent.tools.schemas import ReadFile

LINE_LIMIT = 2000
CHAR_LIMIT = 100_000
LISTING_LIMIT = 400


class Reader:
    """The read_file tool bound to a workspace and the run's file history."""

    def __init__(self, workspace: Workspace, history: FileState):
        self.ws = workspace
        self.history = history

    def read_file(self, args: ReadFile) -> str:
        real = self.ws.resolve(args.path)
        rel = self.ws.rel(real)
        if real.is_dir():
            return self._listing(real, rel)
        if not real.exists():
            raise ToolError(f"'{rel}' does not exist.{self._suggest(real)}")
        with real.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
            kind = binary_kind(head, real.name)
            if kind:
                size = real.stat().st_size
                raise ToolError(f"'{rel}' is a binary file ({kind}, {human_size(size)}); read_file shows text only.")
            handle.seek(0)
            text, notes = _numbered(handle, args.offset, args.limit, rel)
        self.history.saw(rel, real)
        return text + ("\n" + "\n".join(notes) if notes else "")

    def _listing(self, real: Path, rel: str) -> str:
        files = list_files(self.ws.root, real)
        base = "" if rel == "." else rel + "/"
        tree: dict[str, dict[str, int]] = {}
        for path in files:
            parts = path[len(base):].split("/")
            top = tree.setdefault(parts[0] + ("/" if len(parts) > 1 else ""), {})
            if len(parts) > 1:
                child = parts[1] + ("/" if len(parts) > 2 else "")
                top[child] = top.get(child, 0) + 1
        lines = [f"{rel}/ ({len(files)} files, ignored paths hidden)"]
        for name in sorted(tree, key=lambda n: (not n.endswith("/"), n)):
            lines.append(f"  {name}")
            for child in sorted(tree[name], key=lambda n: (not n.endswith("/"), n)):
                count = tree[name][child]
                lines.append(f"    {child}" + (f" ({count} files)" if child.endswith("/") else ""))
        if not files:
            names = sorted(entry.name + "/" * entry.is_dir() for entry in os.scandir(real))
            lines = [f"{rel}/ (ignored by .gitignore or empty)"] + [f"  {name}" for name in names if name != ".git/"]
        if len(lines) > LISTING_LIMIT:
            hidden = len(lines) - LISTING_LIMIT
            lines = lines[:LISTING_LIMIT] + [f"... {hidden} more entries; list a subdirectory or use glob."]
        return "\n".join(lines)

    def _suggest(self, real: Path) -> str:
        names = list_files(self.ws.root, self.ws.root)
        close = difflib.get_close_matches(self.ws.rel(real), names, n=3, cutoff=0.6)
        if not close:
            same = [n for n in names if n.rsplit("/", 1)[-1] == real.name][:3]
            close = same
        return f" Did you mean: {', '.join(close)}?" if close else ""


def _numbered(handle, offset: int, limit: int, rel: str) -> tuple[str, list[str]]:
    out: list[str] = []
    notes: list[str] = []
    chars = 0
    lineno = 0
    bad_utf8 = cut_lines = 0
    stopped_at = None
    for lineno, raw in enumerate(handle, start=1):
        if lineno < offset:
            continue
        if lineno >= offset + limit or chars > CHAR_LIMIT:
            stopped_at = lineno
            break
        body = raw.rstrip(b"\n").rstrip(b"\r").removeprefix(b"\xef\xbb\xbf" if lineno == 1 else b"")
        try:
            line = body.decode("utf-8")
        except UnicodeDecodeError:
            line = body.decode("utf-8", "replace")
            bad_utf8 += 1
        if len(line) > LINE_LIMIT:
            line = f"{line[:LINE_LIMIT]}... [line cut: {len(line) - LINE_LIMIT} more characters]"
            cut_lines += 1
        out.append(f"{lineno:6}\t{line}")
        chars += len(out[-1]) + 1
    if lineno == 0:
        return f"(empty file: {rel})", notes
    if offset > lineno:
        raise ToolError(f"offset {offset} is past the end of '{rel}', which has {lineno} lines.")
    if stopped_at is not None:
        total = stopped_at + _count_rest(handle)
        shown = stopped_at - 1
        notes.append(f"[showing lines {offset}-{shown} of {total}; use offset={shown + 1} to read further]")
    if cut_lines:
        notes.append(f"[{cut_lines} line(s) longer than {LINE_LIMIT} characters were cut]")
    if bad_utf8:
        notes.append(f"[{bad_utf8} line(s) are not valid UTF-8; undecodable bytes are shown as \ufffd]")
    return "\n".join(out), notes


def _count_rest(handle) -> int:
    """Lines after the current position (a final line without a newline counts too)."""
    count, last = 0, b"\n"
    while chunk := handle.read(1 << 20):
        count += chunk.count(b"\n")
        last = chunk[-1:]
    return count + (last != b"\n")
