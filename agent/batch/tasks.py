"""The files of `glm-agent batch`: TASKS.jsonl (parsed and checked up front) and OUT/results.jsonl."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from glm_agent.core.stops import UserError

FIELDS = ("id", "repo", "task", "ref", "check")
REQUIRED = ("id", "repo", "task")


class BatchError(UserError):
    """A tasks file or output folder the user must fix (exit code 2)."""


@dataclass
class Task:
    id: str
    repo: str
    task: str
    ref: Optional[str] = None
    check: Optional[str] = None
    patch_base: Optional[str] = None  # SWE-bench: the row gets `model_patch`, the diff against this commit

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.id).strip(".-") or "task"


def is_url(repo: str) -> bool:
    return "://" in repo or bool(re.match(r"^[\w.-]+@[\w.-]+:", repo))


def read_lines(path: Path) -> list[str]:
    """The lines of a tasks or instances file (a BOM dropped), or a BatchError saying why it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"cannot read {path}: {exc}") from None


def load_tasks(path: Path) -> list[Task]:
    """Parse and check TASKS.jsonl; relative repo paths are taken from the tasks file's folder."""
    lines = read_lines(path)
    tasks, seen = [], set()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            task = _task(line)
        except ValueError as exc:
            raise BatchError(f"{path}:{number}: {exc} (each line: {{id, repo, task, ref?, check?}})") from None
        if task.id in seen or task.slug in seen:
            raise BatchError(f"{path}:{number}: duplicate id {task.id!r} (ids must differ in letters, digits, . _ -)")
        seen.update((task.id, task.slug))
        if not is_url(task.repo):
            task.repo = str((Path(path).parent / Path(task.repo).expanduser()).resolve())
        tasks.append(task)
    if not tasks:
        raise BatchError(f"{path}: no tasks")
    return tasks


def _task(line: str) -> Task:
    """One line as a Task; ValueError says what is wrong with it."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:  # a typo such as "chek" would silently turn a fix into a plain run
        raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))}")
    missing = [name for name in REQUIRED if data.get(name) in (None, "")]
    if missing:
        raise ValueError(f"missing or empty {', '.join(missing)}")
    if isinstance(data["id"], int) and not isinstance(data["id"], bool):
        data["id"] = str(data["id"])
    wrong = [name for name in FIELDS if data.get(name) is not None and not isinstance(data[name], str)]
    if wrong:
        raise ValueError(f"{', '.join(wrong)} must be a string")
    return Task(**data)


def end_with_newline(path: Path) -> None:
    """A line cut short by a crash of the batch itself must not swallow the next result."""
    if path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
        with open(path, "ab") as handle:
            handle.write(b"\n")


def read_results(out: Path) -> list[dict]:
    path = out / "results.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash of the batch itself; the task reruns on --resume
        if isinstance(row, dict):
            rows.append(row)
    return rows


def keep_out_of_repos(out: Path, tasks: list[Task]) -> None:
    """OUT inside a task's source repository (the default when run from it): list it in that repository's
    .git/info/exclude, so the batch's worktrees and logs never show in `git status` or get added by `git add -A`."""
    from glm_agent.git.repo import GitSafetyError, exclude, open_repo

    for repo in sorted({t.repo for t in tasks if not is_url(t.repo)}):
        try:
            git = open_repo(Path(repo))
            rel = out.resolve().relative_to(git.root.resolve())
        except (GitSafetyError, ValueError):
            continue
        exclude(git, f"/{rel.as_posix()}/")
