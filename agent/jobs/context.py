"""What the task prompt tells the model about where it works: AGENTS.md files and the repository's facts."""
from __future__ import annotations

from pathlib import Path

from glm_agent.tools.workspace import KEPT_DIRS


def task_facts(root: Path, workdir: Path, branch: str | None, dirty: bool, sandbox: dict | None = None) -> dict:
    """The facts the task template shows: root, working folder, branch, whether the tree was dirty, the sandbox
    (when on), top-level files."""
    return {"root": str(root), "workdir": relative(workdir, root), "branch": branch, "dirty": dirty,
            "sandbox": sandbox,
            "files": sorted(p.name for p in root.iterdir() if p.name not in KEPT_DIRS)[:60]}


def agents_md(root: Path, workdir: Path, cap: int) -> list[dict]:
    """AGENTS.md files from the repository root down to the working folder, at most `cap` bytes in all."""
    parts = workdir.relative_to(root).parts if root in workdir.parents else ()
    folders = [root.joinpath(*parts[:depth]) for depth in range(len(parts) + 1)]
    docs, left = [], cap
    for folder in folders:
        path = folder / "AGENTS.md"
        if not path.is_file() or left <= 0:
            continue
        data = path.read_bytes()
        text = data[:left].decode("utf-8", errors="ignore")
        docs.append({"path": relative(path, root), "text": text.rstrip(), "truncated": len(data) > left})
        left -= len(data)
    return docs


def relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve())) or "."
    except ValueError:
        return str(path)
