"""The run's diff, from the start snapshot to the end snapshot (refs/glm-agent/<run-id>/worktree and
end-worktree), split per file; lines syntax-highlighted by pygments when it is installed (the `report` extra)."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

DIFF_LIMIT = 2_000_000  # characters of diff shown; beyond it the report says so
_HEADER = re.compile(r"^diff --git a/(.*) b/(.*)$")


@dataclass
class FileDiff:
    path: str
    added: int = 0
    removed: int = 0
    lines: list[tuple[str, str]] = field(default_factory=list)  # (kind: add/del/hunk/meta/ctx, html)


def run_diff(repo: Path, run_id: str) -> str:
    """The diff text, or "" when either snapshot is missing (a run killed before its end)."""
    from glm_agent.git.repo import Git, GitSafetyError

    try:
        git = Git(repo)
        start, end = git.ref_path(run_id, "worktree"), git.ref_path(run_id, "end-worktree")
        if not (git.rev(start) and git.rev(end)):
            return ""
        return git.run("diff", "--no-color", "--no-ext-diff", "--no-textconv", start, end, check=False, strip=False)
    except (GitSafetyError, OSError):
        return ""


def split_files(diff: str) -> tuple[list[FileDiff], bool]:
    """The files of the diff with their lines as HTML; True when the diff was cut at DIFF_LIMIT."""
    cut = len(diff) > DIFF_LIMIT
    files: list[FileDiff] = []
    for line in diff[:DIFF_LIMIT].splitlines():
        header = _HEADER.match(line)
        if header:
            files.append(FileDiff(header.group(2)))
        elif files:
            files[-1].lines.append(_classify(line))
    for item in files:
        item.added = sum(kind == "add" for kind, _ in item.lines)
        item.removed = sum(kind == "del" for kind, _ in item.lines)
        _highlight(item)
    return files, cut


def _classify(line: str) -> tuple[str, str]:
    if line.startswith(("+++", "---", "index ", "new file", "deleted file", "similarity", "rename", "old mode",
                        "new mode", "Binary files")):
        return "meta", line
    if line.startswith("@@"):
        return "hunk", line
    return {"+": "add", "-": "del"}.get(line[:1], "ctx"), line


def _highlight(item: FileDiff) -> None:
    """Each code line highlighted on its own (cheap, and good enough to read); escaped plain text without pygments."""
    lexer = _lexer(item.path)
    if lexer is not None:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter

        formatter = HtmlFormatter(nowrap=True)
    out = []
    for kind, line in item.lines:
        if kind in ("add", "del", "ctx") and lexer is not None:
            code = highlight(line[1:], lexer, formatter).rstrip("\n")
            out.append((kind, f'{html.escape(line[:1])}<span class="code">{code}</span>'))
        else:
            out.append((kind, html.escape(line)))
    item.lines = out


def _lexer(path: str):
    try:
        from pygments.lexers import get_lexer_for_filename
        from pygments.util import ClassNotFound
    except ImportError:
        return None
    try:
        return get_lexer_for_filename(path, stripnl=False, stripall=False, ensurenl=False)
    except ClassNotFound:
        return None


def highlight_css() -> str:
    """pygments' token colours, or "" without it."""
    try:
        from pygments.formatters import HtmlFormatter
    except ImportError:
        return ""
    return HtmlFormatter(style="default").get_style_defs(".diff .code")
