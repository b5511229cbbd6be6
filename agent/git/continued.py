"""The snapshot of a resumed run: it starts where the run it continues started, so that its commit, its changed
files and `glm-agent undo` cover the whole run, the original part and the continuation."""
from __future__ import annotations

import time
from pathlib import Path

from glm_agent.git.repo import GitSafetyError, exclude, open_repo, read_note, write_note
from glm_agent.git.snapshot import EXCLUDE_LINE, RunSnapshot, _start_state

_STARTS = ("head", "index", "worktree")
_KEPT = ("orig_branch", "orig_head", "work_branch", "created_branch", "worktree_path")


def continue_snapshot(repo: Path, run_id: str, parent_id: str, *,
                      identity: tuple[str, str] | None = None) -> RunSnapshot:
    """Record run `run_id` as the continuation of `parent_id`: the same starting refs and note, a new id."""
    git = open_repo(repo, identity)
    _start_state(git)  # refuses in the middle of a merge or rebase, like any run
    parent = read_note(git, parent_id)
    if git.rev(git.ref_path(run_id, "worktree")):
        raise GitSafetyError(f"a run with id {run_id!r} is already recorded in this repository")
    starts = {name: git.rev(git.ref_path(parent_id, name)) for name in _STARTS}
    if not starts["worktree"]:
        raise GitSafetyError(f"run {parent_id} has no starting snapshot (refs/glm-agent/{parent_id}/worktree)")
    exclude(git, EXCLUDE_LINE)
    git.run("update-ref", "--stdin", input="".join(f"update {git.ref_path(run_id, name)} {sha}\n"
                                                   for name, sha in starts.items() if sha))
    note = {**{key: parent[key] for key in _KEPT}, "run_id": run_id, "started_at": time.time(), "ended": False,
            "resumed_from": parent_id}
    write_note(git, note)
    start_head_tree = git.tree_of(parent["orig_head"])
    user_changes = git.changed(start_head_tree, git.tree_of(git.ref_path(run_id, "worktree")))
    return RunSnapshot(git, note, user_changes)
