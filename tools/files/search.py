"""glob and grep over the workspace's non-ignored files, capped, with counts of what was left out."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from glm_agent.tools.base import ToolError
from glm_agent.tools.files.fileinfo import SNIFF_BYTES, binary_kind, list_files
from glm_agent.tools.workspace import Workspace

if TYPE_CHECKING:
    from glm_agent.tools.schemas import Glob, Grep

GLOB_LIMIT = 200
GREP_LINE_CHARS = 300
GREP_MAX_FILE = 20 * 1024 * 1024


class Search:
    """glob and grep bound to a workspace."""

    def __init__(self, workspace: Workspace):
        self.ws = workspace

    def glob(self, args: Glob) -> str:
        folder = self._folder(args.path)
        matcher = glob_matcher(args.pattern)
        base = "" if folder == self.ws.root else self.ws.rel(folder) + "/"
        found = [name for name in list_files(self.ws.root, folder) if matcher(name[len(base):])]
        if not found:
            return f"No files match {args.pattern!r} under {self.ws.rel(folder)}."
        found.sort(key=lambda name: (-(self.ws.root / name).stat().st_mtime, name))
        shown = found[:GLOB_LIMIT]
        more = len(found) - len(shown)
        tail = f"\n... and {more} more (narrow the pattern or the path)" if more else ""
        return "\n".join(shown) + tail

    def grep(self, args: Grep) -> str:
        try:
            regex = re.compile(args.pattern, re.IGNORECASE if args.ignore_case else 0)
        except re.error as exc:
            raise ToolError(f"invalid regular expression {args.pattern!r}: {exc}") from None
        real = self.ws.resolve(args.path)
        if not real.exists():
            raise ToolError(f"'{args.path}' does not exist.")
        files = [self.ws.rel(real)] if real.is_file() else list_files(self.ws.root, real)
        if args.glob:
            matcher = glob_matcher(args.glob)
            files = [name for name in files if matcher(name)]
        out: list[str] = []
        matches = files_hit = skipped = 0
        previous = None
        for name in sorted(files):
            found = _search_file(self.ws.root / name, regex, args.context)
            if found is None:
                skipped += 1
                continue
            files_hit += bool(found)
            for number, line, is_match in found:
                matches += is_match
                if matches > args.max_results:
                    continue
                if args.context and previous and previous != (name, number - 1):
                    out.append("--")
                sep = ":" if is_match else "-"
                out.append(f"{name}{sep}{number}{sep}{_clip(line)}")
                previous = (name, number)
        if matches == 0:
            return f"No matches for {args.pattern!r} in {len(files)} files." + _skipped(skipped)
        tail = [f"... {matches - args.max_results} more matching lines not shown (of {matches} in {files_hit} files)"
                ] if matches > args.max_results else []
        return "\n".join(out + tail) + _skipped(skipped)

    def _folder(self, path: str) -> Path:
        real = self.ws.resolve(path)
        if not real.is_dir():
            raise ToolError(f"'{path}' is not a folder.")
        return real


def _search_file(path: Path, regex: re.Pattern, context: int) -> list[tuple[int, str, bool]] | None:
    """(line number, text, is_match) rows, context rows included; None when the file is binary or too big."""
    try:
        if path.stat().st_size > GREP_MAX_FILE:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if binary_kind(data[:SNIFF_BYTES], path.name):
        return None
    text = data.decode("utf-8", "replace")
    if not regex.search(text):
        return []
    lines = text.splitlines()
    hits = [i for i, line in enumerate(lines) if regex.search(line)]
    wanted = sorted({j for i in hits for j in range(max(0, i - context), min(len(lines), i + context + 1))})
    hit_set = set(hits)
    return [(j + 1, lines[j], j in hit_set) for j in wanted]


def glob_matcher(pattern: str):
    """A predicate on relative POSIX paths; slash-free patterns match the file name at any depth."""
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    regex = re.compile(_translate(pattern) + r"\Z")
    if "/" in pattern:
        return lambda name: bool(regex.match(name))
    return lambda name: bool(regex.match(name.rsplit("/", 1)[-1]))


def _translate(pattern: str) -> str:
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append(r"(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(r".*")
            index += 2
            continue
        if char == "*":
            out.append(r"[^/]*")
        elif char == "?":
            out.append(r"[^/]")
        elif char == "{" and "}" in pattern[index:]:
            end = pattern.index("}", index)
            out.append("(?:" + "|".join(_translate(alt) for alt in pattern[index + 1:end].split(",")) + ")")
            index = end
        elif char == "[" and "]" in pattern[index + 1:]:
            end = pattern.index("]", index + 1)
            body = pattern[index + 1:end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _clip(line: str) -> str:
    return line if len(line) <= GREP_LINE_CHARS else line[:GREP_LINE_CHARS] + f"... [{len(line)} chars]"


def _skipped(count: int) -> str:
    return f"\n({count} binary or very large files skipped)" if count else ""
