"""write_file, edit_file and undo_edit: atomic, stale-checked, line-ending-preserving writes with undo."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from glm_agent.tools.base import ToolError
from glm_agent.tools.files.fuzzy import closest_regions
from glm_agent.tools.files.state import FileState
from glm_agent.tools.workspace import Workspace, atomic_write

if TYPE_CHECKING:
    from glm_agent.tools.schemas import EditFile, UndoEdit, WriteFile

SNIPPET_CONTEXT = 3
SNIPPET_MAX_LINES = 40
_LINE_PREFIX = re.compile(r"^\s*\d+\t", re.M)


class Editor:
    """The writing tools bound to a workspace and the run's file history."""

    def __init__(self, workspace: Workspace, history: FileState):
        self.ws = workspace
        self.history = history

    def write_file(self, args: WriteFile) -> str:
        real, rel = self._target(args.path)
        previous = None
        content = args.content
        if real.exists():
            self.history.check_fresh(rel, real)
            previous = real.read_bytes()
            if _pure_crlf(previous.decode("utf-8", "surrogateescape")) and "\r\n" not in content:
                content = content.replace("\n", "\r\n")
        data = content.encode("utf-8", "surrogateescape")
        self._commit(rel, real, previous, data)
        verb = "Created" if previous is None else ("Rewrote (unchanged)" if previous == data else "Overwrote")
        return f"{verb} {rel}: {len(content.splitlines())} lines, {len(data)} bytes."

    def edit_file(self, args: EditFile) -> str:
        if args.old_string == args.new_string:
            raise ToolError("old_string and new_string are identical; nothing would change.")
        if not args.old_string:
            raise ToolError("old_string is empty; give the exact text to replace (use write_file for whole files).")
        real, rel = self._target(args.path)
        if not real.exists():
            raise ToolError(f"'{rel}' does not exist; create it with write_file.")
        previous = real.read_bytes()
        if b"\x00" in previous[:8192]:
            raise ToolError(f"'{rel}' is a binary file; edit_file changes text files only.")
        raw = previous.decode("utf-8", "surrogateescape")
        bom = "\ufeff" if raw.startswith("\ufeff") else ""
        raw = raw[len(bom):]
        crlf = _pure_crlf(raw)
        text = raw.replace("\r\n", "\n") if crlf else raw
        old, new = args.old_string, args.new_string
        if crlf:  # the model writes LF; match and write back in the file's CRLF
            old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
        count = text.count(old)
        if count == 0:
            raise ToolError(_not_found(rel, text, old))
        if count > 1 and not args.replace_all:
            lines = _match_lines(text, old)
            raise ToolError(
                f"old_string occurs {count} times in '{rel}' (lines {', '.join(map(str, lines))}). Add surrounding "
                "lines to old_string to pick one, or set replace_all=true to change them all."
            )
        first = text.index(old)
        updated = text.replace(old, new) if args.replace_all else text.replace(old, new, 1)
        out = bom + (updated.replace("\n", "\r\n") if crlf else updated)
        self._commit(rel, real, previous, out.encode("utf-8", "surrogateescape"))
        start = text.count("\n", 0, first) + 1
        shown = _snippet(updated, start, start + new.count("\n"))
        what = f"{count} occurrences" if args.replace_all and count > 1 else "1 occurrence"
        return f"Edited {rel}: replaced {what}. Lines around the (first) edit now read:\n{shown}"

    def undo_edit(self, args: UndoEdit) -> str:
        real = self.ws.resolve(args.path)
        rel = self.ws.rel(real)
        if self.history.undo_depth(rel) == 0:
            raise ToolError(f"no write or edit of '{rel}' in this run to undo.")
        if self.history.is_stale(rel, real):
            raise ToolError(
                f"'{rel}' changed on disk after this run last wrote it (probably by a command); undoing would "
                "discard that change. Read the file and fix it with edit_file instead."
            )
        previous = self.history.pop_undo(rel)
        left = self.history.undo_depth(rel)
        if previous is None:
            real.unlink(missing_ok=True)
            self.history.forget(rel)
            return f"Undid the creation of {rel}: the file is removed. {left} earlier change(s) can still be undone."
        atomic_write(real, previous)
        self.history.saw(rel, real, previous)
        return f"Restored {rel} to its content before the last change. {left} earlier change(s) can still be undone."

    def _target(self, path: str) -> tuple[Path, str]:
        real = self.ws.resolve(path)
        rel = self.ws.rel(real)
        if real.is_dir():
            raise ToolError(f"'{rel}' is a directory; give a file path.")
        self.ws.check_writable(real)
        return real, rel

    def _commit(self, rel: str, real: Path, previous: bytes | None, data: bytes) -> None:
        atomic_write(real, data)
        self.history.push_undo(rel, previous)
        self.history.saw(rel, real, data)


def _pure_crlf(text: str) -> bool:
    """True when every line break is CRLF (mixed files are edited byte-exactly instead)."""
    crlf = text.count("\r\n")
    return crlf > 0 and crlf == text.count("\n")


def _match_lines(text: str, old: str) -> list[int]:
    lines, pos = {}, text.find(old)
    while pos != -1 and len(lines) < 20:
        lines[text.count("\n", 0, pos) + 1] = None
        pos = text.find(old, pos + 1)
    return list(lines)


def _snippet(text: str, first: int, last: int, context: int = SNIPPET_CONTEXT) -> str:
    lines = text.split("\n", last + context)
    start = max(1, first - context)
    end = min(len(lines), last + context, start + SNIPPET_MAX_LINES - 1)
    return "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(start, end + 1))


def _not_found(rel: str, text: str, old: str) -> str:
    message = f"old_string was not found in '{rel}'."
    if _LINE_PREFIX.search(old) and _LINE_PREFIX.sub("", old) in text:
        return f"{message} It includes read_file's line-number prefixes; send the text without them."
    if "\r" in text:
        message += " The file mixes CRLF and LF line endings; old_string must use the same ones."
    regions = closest_regions(text.split("\n"), old)
    if regions and regions[0].whitespace:
        region = regions[0]
        return (f"{message} Lines {region.start}-{region.end} hold the same text except for whitespace (indentation, "
                f"tabs vs spaces, spacing): {region.whitespace}. The file has:\n"
                + _snippet(text, region.start, region.end, context=0)
                + "\nCopy the text exactly as the file has it, whitespace included, and retry.")
    if _squash(old) in _squash(text):
        message += " The text exists with different indentation or trailing whitespace (tabs vs spaces?)."
    if not regions:
        return f"{message} Nothing similar was found; read_file the file to see its current content."
    for region in regions:
        message += (f"\nClosest region, lines {region.start}-{region.end} ({region.ratio:.0%} similar):\n"
                    + _snippet(text, region.start, region.end, context=0))
    return message + "\nCopy the text exactly as the file has it and retry."


def _squash(text: str) -> str:
    return "\n".join(line.strip() for line in text.split("\n"))
