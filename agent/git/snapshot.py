"""The run snapshot: the user's state recorded before a run (refs, a note), and only the agent's changes committed after it.

The user's index and working tree are never rewritten: snapshots are built in a temporary index
(GIT_INDEX_FILE), and the final commit is assembled the same way, then the branch ref is moved.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from glm_agent.git.repo import Git, GitSafetyError, exclude, open_repo, write_note

EXCLUDE_LINE = ".glm-agent/"
_PLAIN_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*")
_IN_PROGRESS = {
    "MERGE_HEAD": "a merge", "CHERRY_PICK_HEAD": "a cherry-pick", "REVERT_HEAD": "a revert",
    "rebase-merge": "a rebase", "rebase-apply": "a rebase or am", "BISECT_LOG": "a bisect",
}


@dataclass
class GitOutcome:
    """What the end of a run did to the repository."""

    commit: str | None
    branch: str | None
    files_changed: list[str] = field(default_factory=list)
    # Files committed whole, because the agent's edits could not be separated from the user's own
    # uncommitted changes in them: those user changes are in the commit too.
    user_changes_included: list[str] = field(default_factory=list)


class RunSnapshot:
    """Brackets one run: `begin` records the user's state and switches branch; `end` commits the agent's work."""

    def __init__(self, git: Git, note: dict, user_changes: list[str]):
        self.git = git
        self.note = note
        self.user_changes = user_changes  # the paths uncommitted when the run began

    @property
    def run_id(self) -> str:
        return self.note["run_id"]

    @property
    def branch(self) -> str | None:
        return self.note["work_branch"]

    @classmethod
    def begin(cls, repo: Path, run_id: str, *, branch: str | None,
              identity: tuple[str, str] | None = None) -> "RunSnapshot":
        """`identity`: the configured (name, email) for the run's commits, used when the repository has no
        identity of its own (glm_agent.tools.base.commit_identity)."""
        git = open_repo(repo, identity)
        head, symbolic, status = _start_state(git)
        if not _plain_ref_name(run_id) and not git.ok("check-ref-format", f"refs/glm-agent/{run_id}/head"):
            raise GitSafetyError(f"run id {run_id!r} cannot be used in a git ref name")
        if branch is not None and not (_plain_ref_name(branch) and branch != "HEAD") and not git.ok(
                "check-ref-format", "--branch", branch):
            raise GitSafetyError(f"{branch!r} is not a valid git branch name")
        taken = git.run("for-each-ref", "--format=%(refname)", git.ref_path(run_id, "worktree"),
                        *([f"refs/heads/{branch}"] if branch is not None else [])).split("\n")
        if git.ref_path(run_id, "worktree") in taken:
            raise GitSafetyError(f"a run with id {run_id!r} is already recorded in this repository")
        if branch is not None and f"refs/heads/{branch}" in taken:
            raise GitSafetyError(f"branch {branch!r} already exists; pick another name with --branch "
                                 f"or delete it first")
        exclude(git, EXCLUDE_LINE)
        note = {
            "run_id": run_id, "worktree_path": str(git.root), "started_at": time.time(),
            "orig_branch": symbolic.removeprefix("refs/heads/") or None, "orig_head": head,
            "work_branch": branch if branch is not None else (symbolic.removeprefix("refs/heads/") or None),
            "created_branch": branch is not None, "ended": False,
        }
        message = f"glm-agent {run_id}: state before the run\n\n{json.dumps(note, indent=2)}"
        parents = [head] if head else []
        if head and not status:  # clean: index and working tree are both HEAD's tree, one commit records both
            snapshot = git.commit_tree(f"{head}^{{tree}}", parents, message)
            snaps = {"index": snapshot, "worktree": snapshot}
        else:
            snaps = {name: git.commit_tree(tree, parents, message)
                     for name, tree in (("index", git.index_tree()), ("worktree", git.worktree_tree()))}
        if head:
            snaps["head"] = head
        git.run("update-ref", "--stdin", input="".join(f"update {git.ref_path(run_id, name)} {sha}\n"
                                                       for name, sha in snaps.items()))
        write_note(git, note)
        if branch is not None:
            git.run("switch", "-q", "-c", branch)
        return cls(git, note, status)

    def diff_stat(self) -> str:
        """`git diff --stat` of the working tree against the run's start (the user's own uncommitted changes
        then are part of the start, so only the run's changes show): what a compacted conversation lists."""
        git = self.git
        return git.run("diff", "--stat=120", "--no-color", "--no-renames", git.ref_path(self.run_id, "worktree"),
                       git.worktree_tree())

    def end(self, message: str, *, commit: bool) -> GitOutcome:
        git, note = self.git, self.note
        current_tree = git.worktree_tree()
        changed = git.changed(git.ref_path(self.run_id, "worktree"), current_tree)  # diff-tree takes the commit
        outcome = GitOutcome(commit=None, branch=_current_branch(git), files_changed=[_shown(p) for p in changed])
        head = git.rev("HEAD")
        if commit and changed:
            users = bool(self.user_changes)  # a clean start left nothing of the user's to keep out or re-stage
            tree, mixed = self._agent_tree(current_tree, changed) if users else (current_tree, [])
            head_tree = git.tree_of(head)
            if tree != head_tree:
                new = git.commit_tree(tree, [head] if head else [], message)
                git.run("update-ref", "-m", f"glm-agent {self.run_id}: commit", "HEAD", new, head or "0" * 40)
                committed = git.changed(head_tree, tree)
                git.set_index_entries(new, committed)
                if users:
                    self._restage(committed)
                head = new
            outcome.user_changes_included = [_shown(p) for p in mixed]
        refs: list[str] = []  # ref updates for `git update-ref --stdin`: applied together, in one git process
        if not changed and head == note["orig_head"] and self._drop_empty_branch(outcome.branch, refs):
            outcome.branch = note["orig_branch"]
        if head and head != note["orig_head"]:
            outcome.commit = head
            refs.append(f"update {git.ref_path(self.run_id, 'end')} {head}\n")
        end_snapshot = git.commit_tree(current_tree, [head] if head else [],
                                       f"glm-agent {self.run_id}: working tree after the run")
        refs.append(f"update {git.ref_path(self.run_id, 'end-worktree')} {end_snapshot}\n")
        git.run("update-ref", "--stdin", input="".join(refs))
        note.update(ended=True, ended_at=time.time(), end_head=head, end_branch=outcome.branch,
                    commit=outcome.commit, files_changed=changed,
                    user_changes_included=outcome.user_changes_included)
        write_note(git, note)
        return outcome

    def _drop_empty_branch(self, current: str | None, refs: list[str]) -> bool:
        """A run that changed nothing goes back to the starting branch, or to the starting detached HEAD (a batch
        worktree), at the same commit (index and files untouched), and deletes the work branch it created (a
        line added to `refs`). False when that is not exactly the situation."""
        git, note = self.git, self.note
        orig, work, head = note["orig_branch"], note["work_branch"], note["orig_head"]
        if not (note["created_branch"] and head and current == work):
            return False
        if orig is None:
            git.run("update-ref", "--no-deref", "-m", f"glm-agent {self.run_id}: back to the start", "HEAD", head)
        elif git.rev(f"refs/heads/{orig}") == head:
            git.run("symbolic-ref", "HEAD", f"refs/heads/{orig}")
        else:
            return False
        refs.append(f"delete refs/heads/{work} {head}\n")  # HEAD has left it already
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


def _start_state(git: Git) -> tuple[str | None, str, list[str]]:
    """HEAD's commit (None when unborn), HEAD's symbolic ref ("" when detached) and the uncommitted paths, with
    one `git status`; raises when a merge, rebase or similar is in progress or the index has conflicts."""
    for (marker, what), path in zip(_IN_PROGRESS.items(), git.paths(*_IN_PROGRESS, "info/exclude", "glm-agent", "index")):
        if path.exists():
            raise GitSafetyError(f"the repository is in the middle of {what}; finish or abort it first")
    # explicit options: the user's status config (hidden untracked files, ignored submodules) must not hide work
    out = git.run("status", "--porcelain=v2", "--branch", "-z", "--no-renames", "--untracked-files=all",
                  "--ignore-submodules=none", strip=False)
    head, branch, paths = None, "", []
    for entry in filter(None, out.split("\0")):
        kind = entry[:2]
        if entry.startswith("# branch.oid "):
            head = None if entry.endswith("(initial)") else entry.split(" ", 2)[2]
        elif entry.startswith("# branch.head "):
            name = entry.split(" ", 2)[2]
            branch = "" if name == "(detached)" else f"refs/heads/{name}"
        elif kind == "u ":
            raise GitSafetyError("the index has unresolved merge conflicts; resolve them first")
        elif kind == "1 ":
            paths.append(entry.split(" ", 8)[8])
        elif kind == "? ":  # no "! " lines: ignored files are not asked for
            paths.append(entry[2:])
    return head, branch, paths


def _plain_ref_name(name: str) -> bool:
    """Names git's ref rules certainly accept (no dots, no specials), so no `git check-ref-format` is needed."""
    return bool(_PLAIN_REF.fullmatch(name))
