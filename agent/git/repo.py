"""Git plumbing for one working tree: git run without hooks or secrets, throwaway indexes, trees, refs, run notes."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from glm_agent.core.stops import UserError
from glm_agent.tools.identity import commit_identity
from glm_agent.tools.secretenv import SECRET_ENV

# the guard's bookkeeping must not run anything the agent may have planted in .git (hooks, an fsmonitor)
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")

class GitSafetyError(UserError):
    """The repository is not in a state where a run can start or end safely; the message says why."""


class Git:
    """Runs git in one working tree; raises GitSafetyError with git's own message on failure."""

    def __init__(self, root: Path, identity: tuple[str, str] | None = None):
        """`identity`: the configured (name, email) for commits in a repository without one of its own."""
        self.root = Path(root)
        self.identity = identity
        self._paths: dict[str, Path] = {}  # git-path answers do not change while a run lasts
        self._common: Path | None = None
        self._identity: dict | None = None

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
        return self.paths(name)[0]

    def paths(self, *names: str) -> list[Path]:
        """Several git-dir paths with one git process (cached; the first call also learns the common dir)."""
        missing = [name for name in names if name not in self._paths]
        if missing or self._common is None:
            common = ["--git-common-dir"] if self._common is None else []
            out = self.run("rev-parse", *(arg for name in missing for arg in ("--git-path", name)), *common).split("\n")
            if len(out) != len(missing) + len(common):  # a newline inside the repository's path: one at a time
                out = [self.run("rev-parse", "--git-path", name) for name in missing] + (
                    [self.run("rev-parse", "--git-common-dir")] if common else [])
            if common:
                self._common = (self.root / out.pop()).resolve()
            self._paths.update((name, (self.root / line).resolve()) for name, line in zip(missing, out))
        return [self._paths[name] for name in names]

    def rev(self, name: str) -> str | None:
        out = self.run("rev-parse", "--verify", "--quiet", name + "^{commit}", check=False)
        return out or None

    def identity_env(self) -> dict:
        """The env giving a commit its identity by the one rule (glm_agent.tools.base.commit_identity; looked up once)."""
        if self._identity is None:
            self._identity = commit_identity(self.root, *(self.identity or ()))
        return self._identity

    @contextmanager
    def temp_index(self, copy_user_index: bool) -> Iterator[dict]:
        """An env selecting a throwaway index file (a copy of the user's, or empty)."""
        folder, user_index = self.paths("glm-agent", "index")
        if not folder.parent.is_dir():  # .git deleted while the run lasted: never make a stub of it
            raise GitSafetyError(f"the git directory {folder.parent} is gone")
        folder.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="index-", dir=folder)
        os.close(fd)
        os.unlink(name)
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
        if self._common is None:
            self.paths()
        return self._common / "glm-agent" / "runs"


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


def exclude(git: Git, pattern: str) -> None:
    """Add `pattern` to .git/info/exclude (once): ignored in this clone only, the user's .gitignore untouched."""
    path = git.path("info/exclude")
    text = path.read_text() if path.exists() else ""
    if pattern not in text.splitlines():
        path.parent.mkdir(parents=True, exist_ok=True)
        sep = "" if not text or text.endswith("\n") else "\n"
        path.write_text(f"{text}{sep}{pattern}\n")


def open_repo(repo: Path, identity: tuple[str, str] | None = None) -> Git:
    """The top of the working tree containing `repo`, checked to be a usable, non-bare git checkout; `identity`
    is the configured one for its commits (see Git)."""
    repo = Path(repo)
    if not repo.is_dir():
        raise GitSafetyError(f"{repo} is not a directory")
    probe = Git(repo)
    # the usual case in one git process; anything else (not a repo, bare, odd paths) takes the checks below
    answer = probe.run("rev-parse", "--is-bare-repository", "--show-toplevel", check=False).split("\n")
    if len(answer) == 2 and answer[0] == "false" and answer[1]:
        return Git(Path(answer[1]), identity)
    if not probe.ok("rev-parse", "--git-dir"):
        raise GitSafetyError(f"{repo} is not inside a git repository (run `git init` there first)")
    if probe.run("rev-parse", "--is-bare-repository") == "true":
        raise GitSafetyError(f"{repo} is a bare repository; glm-agent needs a working tree")
    return Git(Path(probe.run("rev-parse", "--show-toplevel")), identity)
