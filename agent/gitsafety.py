"""Git safety for a run: snapshot the user's state before it, commit only the agent's changes after it.

The user's index and working tree are never rewritten: snapshots are built in a temporary index
(GIT_INDEX_FILE), and the final commit is assembled the same way, then the branch ref is moved.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tools.secretenv import SECRET_ENV

FALLBACK_NAME = "glm-agent"
FALLBACK_EMAIL = "glm-agent@localhost"
# the guard's bookkeeping must not run anything the agent may have planted in .git (hooks, an fsmonitor)
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")
EXCLUDE_LINE = ".glm-agent/"
_IN_PROGRESS = {
    "MERGE_HEAD": "a merge", "CHERRY_PICK_HEAD": "a cherry-pick", "REVERT_HEAD": "a revert",
    "rebase-merge": "a rebase", "rebase-apply": "a rebase or am", "BISECT_LOG": "a bisect",
}


class GitSafetyError(Exception):
    """The repository is not in a state where a run can start or end safely; the message says why."""


@dataclass
class GitOutcome:
    """What the end of a run did to the repository."""

    commit: str | None
    branch: str | None
    files_changed: list[str] = field(default_factory=list)
    # Files committed whole, because the agent's edits could not be separated from the user's own
    # uncommitted changes in them: those user changes are in the commit too.
    user_changes_included: list[str] = field(default_factory=list)


class Git:
    """Runs git in one working tree; raises GitSafetyError with git's own message on failure."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def run(self, *args: str, env: dict | None = None, input: str | bytes | None = None,
            check: bool = True, strip: bool = True) -> str:
        full_env = {**{k: v for k, v in os.environ.items() if k not in SECRET_ENV}, "GIT_TERMINAL_PROMPT": "0",
                    "GIT_LITERAL_PATHSPECS": "1", "LC_ALL": "C", **(env or {})}
        data = input.encode(errors="surrogateescape") if isinstance(input, str) else input
        proc = subprocess.run(["git", *_NO_HOOKS, *args], cwd=self.root, env=full_env, input=data,
                              capture_output=True, stdin=None if data is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()
            raise GitSafetyError(f"git {' '.join(args[:2])} failed: {err}")
        if proc.returncode != 0:
            return ""
        out = proc.stdout.decode(errors="surrogateescape")
        return out.strip() if strip else out

    def ok(self, *args: str, env: dict | None = None, input: str | None = None) -> bool:
        try:
            self.run(*args, env=env, input=input)
            return True
        except GitSafetyError:
            return False

    def path(self, name: str) -> Path:
        """A path inside the git dir (worktree-aware: `git rev-parse --git-path`)."""
        return (self.root / self.run("rev-parse", "--git-path", name)).resolve()

    def rev(self, name: str) -> str | None:
        out = self.run("rev-parse", "--verify", "--quiet", name + "^{commit}", check=False)
        return out or None

    def identity_env(self) -> dict:
        """The repo's identity when it has one; otherwise glm-agent's, without writing any config."""
        name = os.environ.get("GIT_AUTHOR_NAME") or self.run("config", "user.name", check=False)
        email = os.environ.get("GIT_AUTHOR_EMAIL") or self.run("config", "user.email", check=False)
        if name and email:
            return {}
        return {"GIT_AUTHOR_NAME": FALLBACK_NAME, "GIT_AUTHOR_EMAIL": FALLBACK_EMAIL,
                "GIT_COMMITTER_NAME": FALLBACK_NAME, "GIT_COMMITTER_EMAIL": FALLBACK_EMAIL}

    @contextmanager
    def temp_index(self, copy_user_index: bool) -> Iterator[dict]:
        """An env selecting a throwaway index file (a copy of the user's, or empty)."""
        folder = self.path("glm-agent")
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="index-", dir=folder)
        os.close(fd)
        os.unlink(name)
        user_index = self.path("index")
        if copy_user_index and user_index.exists():
            Path(name).write_bytes(user_index.read_bytes())
        try:
            yield {"GIT_INDEX_FILE": name}
        finally:
            for leftover in (name, name + ".lock"):
                if os.path.exists(leftover):
                    os.unlink(leftover)

    def worktree_tree(self) -> str:
        """Tree of the working tree as it is: tracked, staged and untracked files, minus ignored ones."""
        with self.temp_index(copy_user_index=True) as env:
            # an unreadable file must not block the run; it stays at its indexed version in the snapshot
            self.run("add", "-A", "--ignore-errors", "--", ".", env=env, check=False)
            return self.run("write-tree", env=env)

    def index_tree(self) -> str:
        with self.temp_index(copy_user_index=True) as env:
            return self.run("write-tree", env=env)

    def empty_tree(self) -> str:
        return self.run("mktree", input="")

    def commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        args = ["commit-tree", "--no-gpg-sign", tree]
        for parent in parents:
            args += ["-p", parent]
        # on stdin: a model's summary may be longer than one argument may be (128 KB) or hold NUL bytes
        return self.run(*args, "-F", "-", env=self.identity_env(), input=message.replace("\0", ""))

    def tree_of(self, rev: str | None) -> str:
        return self.run("rev-parse", rev + "^{tree}") if rev else self.empty_tree()

    def changed(self, a: str, b: str) -> list[str]:
        """Paths whose content or mode differ between two tree-ish (renames as delete + add)."""
        out = self.run("diff-tree", "-r", "-z", "--no-renames", "--name-only", a, b, strip=False)
        return sorted(p for p in out.split("\0") if p)

    def entries(self, tree: str) -> dict[str, tuple[str, str]]:
        """path -> (mode, object id) for every file in a tree."""
        result = {}
        for entry in filter(None, self.run("ls-tree", "-r", "-z", "--full-tree", tree, strip=False).split("\0")):
            meta, path = entry.split("\t", 1)
            mode, _kind, sha = meta.split()
            result[path] = (mode, sha)
        return result

    def set_index_entries(self, tree: str, paths: list[str], env: dict | None = None) -> None:
        """Make the index entries of `paths` equal to `tree`'s (removed where `tree` lacks them)."""
        if not paths:
            return
        present = self.entries(tree)
        zero = "0" * len(tree)
        lines = [f"{present[p][0]} {present[p][1]}\t{p}" if p in present else f"0 {zero}\t{p}" for p in paths]
        self.run("update-index", "-z", "--index-info", env=env, input="\0".join(lines) + "\0")

    def ref_path(self, run_id: str, name: str) -> str:
        return f"refs/glm-agent/{run_id}/{name}"

    def notes_dir(self) -> Path:
        common = self.root / self.run("rev-parse", "--git-common-dir")
        return common.resolve() / "glm-agent" / "runs"


def read_note(git: Git, run_id: str) -> dict:
    path = git.notes_dir() / f"{run_id}.json"
    if "/" in run_id or run_id.startswith(".") or not path.exists():
        raise GitSafetyError(f"no glm-agent run {run_id!r} recorded in this repository")
    return json.loads(path.read_text())


def write_note(git: Git, note: dict) -> None:
    folder = git.notes_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{note['run_id']}.json.tmp"
    tmp.write_text(json.dumps(note, indent=2))
    tmp.replace(folder / f"{note['run_id']}.json")


def open_repo(repo: Path) -> Git:
    """The top of the working tree containing `repo`, checked to be a usable, non-bare git checkout."""
    repo = Path(repo)
    if not repo.is_dir():
        raise GitSafetyError(f"{repo} is not a directory")
    probe = Git(repo)
    if not probe.ok("rev-parse", "--git-dir"):
        raise GitSafetyError(f"{repo} is not inside a git repository (run `git init` there first)")
    if probe.run("rev-parse", "--is-bare-repository") == "true":
        raise GitSafetyError(f"{repo} is a bare repository; glm-agent needs a working tree")
    return Git(Path(probe.run("rev-parse", "--show-toplevel")))


class GitGuard:
    """Brackets one run: `begin` records the user's state and switches branch; `end` commits the agent's work."""

    def __init__(self, git: Git, note: dict):
        self.git = git
        self.note = note

    @property
    def run_id(self) -> str:
        return self.note["run_id"]

    @property
    def branch(self) -> str | None:
        return self.note["work_branch"]

    @classmethod
    def begin(cls, repo: Path, run_id: str, *, branch: str | None) -> "GitGuard":
        git = open_repo(repo)
        _check_clean_state(git)
        if not git.ok("check-ref-format", f"refs/glm-agent/{run_id}/head"):
            raise GitSafetyError(f"run id {run_id!r} cannot be used in a git ref name")
        if git.rev(git.ref_path(run_id, "worktree")):
            raise GitSafetyError(f"a run with id {run_id!r} is already recorded in this repository")
        if branch is not None:
            if not git.ok("check-ref-format", "--branch", branch):
                raise GitSafetyError(f"{branch!r} is not a valid git branch name")
            if git.ok("show-ref", "--verify", "--quiet", f"refs/heads/{branch}"):
                raise GitSafetyError(f"branch {branch!r} already exists; pick another name with --branch "
                                     f"or delete it first")
        _ensure_excluded(git)
        head = git.rev("HEAD")
        symbolic = git.run("symbolic-ref", "-q", "HEAD", check=False)
        note = {
            "run_id": run_id, "worktree_path": str(git.root), "started_at": time.time(),
            "orig_branch": symbolic.removeprefix("refs/heads/") or None, "orig_head": head,
            "work_branch": branch if branch is not None else (symbolic.removeprefix("refs/heads/") or None),
            "created_branch": branch is not None, "ended": False,
        }
        message = f"glm-agent {run_id}: state before the run\n\n{json.dumps(note, indent=2)}"
        parents = [head] if head else []
        snaps = {"index": git.index_tree(), "worktree": git.worktree_tree()}
        for name, tree in snaps.items():
            git.run("update-ref", git.ref_path(run_id, name), git.commit_tree(tree, parents, message))
        if head:
            git.run("update-ref", git.ref_path(run_id, "head"), head)
        write_note(git, note)
        if branch is not None:
            git.run("switch", "-q", "-c", branch)
        return cls(git, note)

    def end(self, message: str, *, commit: bool) -> GitOutcome:
        git, note = self.git, self.note
        start_tree = git.tree_of(git.ref_path(self.run_id, "worktree"))
        current_tree = git.worktree_tree()
        changed = git.changed(start_tree, current_tree)
        outcome = GitOutcome(commit=None, branch=_current_branch(git), files_changed=[_shown(p) for p in changed])
        head = git.rev("HEAD")
        if commit and changed:
            tree, mixed = self._agent_tree(current_tree, changed)
            if tree != git.tree_of(head):
                new = git.commit_tree(tree, [head] if head else [], message)
                git.run("update-ref", "-m", f"glm-agent {self.run_id}: commit", "HEAD", new, head or "0" * 40)
                committed = git.changed(git.tree_of(head), tree)
                git.set_index_entries(new, committed)
                self._restage(committed)
                head = new
            outcome.user_changes_included = [_shown(p) for p in mixed]
        if not changed and head == note["orig_head"] and self._drop_empty_branch(outcome.branch):
            outcome.branch = note["orig_branch"]
        if head and head != note["orig_head"]:
            outcome.commit = head
            git.run("update-ref", git.ref_path(self.run_id, "end"), head)
        end_snapshot = git.commit_tree(current_tree, [head] if head else [],
                                       f"glm-agent {self.run_id}: working tree after the run")
        git.run("update-ref", git.ref_path(self.run_id, "end-worktree"), end_snapshot)
        note.update(ended=True, ended_at=time.time(), end_head=head, end_branch=outcome.branch,
                    commit=outcome.commit, files_changed=changed,
                    user_changes_included=outcome.user_changes_included)
        write_note(git, note)
        return outcome

    def _drop_empty_branch(self, current: str | None) -> bool:
        """A run that changed nothing goes back to the starting branch (same commit: index and files untouched)
        and deletes the work branch it created. False when that is not exactly the situation."""
        git, note = self.git, self.note
        orig, work, head = note["orig_branch"], note["work_branch"], note["orig_head"]
        if not (note["created_branch"] and orig and head and current == work and git.rev(f"refs/heads/{orig}") == head):
            return False
        git.run("symbolic-ref", "HEAD", f"refs/heads/{orig}")
        git.run("update-ref", "-d", f"refs/heads/{work}", head)
        return True

    def _restage(self, paths: list[str]) -> None:
        """Re-apply what the user had staged in files the commit touched, so it stays staged (best effort)."""
        git = self.git
        start_head_tree = git.tree_of(self.note["orig_head"])
        index_tree = git.tree_of(git.ref_path(self.run_id, "index"))
        for path in set(paths) & set(git.changed(start_head_tree, index_tree)):
            patch = git.run("diff", "--binary", "--full-index", start_head_tree, index_tree, "--", path, strip=False)
            git.ok("apply", "--cached", "--whitespace=nowarn", "-", input=patch)

    def _agent_tree(self, current_tree: str, changed: list[str]) -> tuple[str, list[str]]:
        """Current tree minus the user's pre-run uncommitted changes, where those can be separated."""
        git = self.git
        start_head_tree = git.tree_of(self.note["orig_head"])
        start_tree = git.tree_of(git.ref_path(self.run_id, "worktree"))
        user_paths = git.changed(start_head_tree, start_tree)
        touched = set(changed)
        mixed = []
        with git.temp_index(copy_user_index=False) as env:
            git.run("read-tree", current_tree, env=env)
            git.set_index_entries(start_head_tree, [p for p in user_paths if p not in touched], env=env)
            for path in (p for p in user_paths if p in touched):
                patch = git.run("diff", "--binary", "--no-renames", "--full-index", start_head_tree,
                                start_tree, "--", path, strip=False)
                if not git.ok("apply", "--cached", "-R", "--whitespace=nowarn", "-", env=env, input=patch):
                    mixed.append(path)
            return git.run("write-tree", env=env), mixed


def _shown(path: str) -> str:
    """A path git printed, as text any JSON or terminal accepts (bytes that are not UTF-8 become U+FFFD)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _current_branch(git: Git) -> str | None:
    return git.run("symbolic-ref", "-q", "--short", "HEAD", check=False) or None


def _check_clean_state(git: Git) -> None:
    for marker, what in _IN_PROGRESS.items():
        if git.path(marker).exists():
            raise GitSafetyError(f"the repository is in the middle of {what}; finish or abort it first")
    if git.run("ls-files", "-u"):
        raise GitSafetyError("the index has unresolved merge conflicts; resolve them first")


def _ensure_excluded(git: Git) -> None:
    exclude = git.path("info/exclude")
    text = exclude.read_text() if exclude.exists() else ""
    if EXCLUDE_LINE not in text.splitlines():
        exclude.parent.mkdir(parents=True, exist_ok=True)
        sep = "" if not text or text.endswith("\n") else "\n"
        exclude.write_text(f"{text}{sep}{EXCLUDE_LINE}\n")
