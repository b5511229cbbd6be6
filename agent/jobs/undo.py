"""`glm-agent undo`: put the branch and working tree back as they were before a run, keeping later user work.

Only the files the run changed are restored, and only while they still hold what the run left there; the
run's commits stay reachable under refs/glm-agent/<run-id>/branch. Anything else refuses with a reason.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from glm_agent.git.outside import find_copy, refs_gone, restore_copy
from glm_agent.git.repo import Git, GitSafetyError, open_repo, read_note, write_note


class UndoError(GitSafetyError):
    """Undo is not possible (or not safe) in the repository's current state; the message explains."""


def undo(repo: Path, run_id: str | None = None) -> str:
    """Undo one run (default: the latest one not yet undone in this working tree); returns a report. When the
    run's snapshot refs are gone (a command deleted them, or all of .git), the copy kept outside the repository
    for an unsandboxed run puts the user's uncommitted work back (glm_agent.git.outside)."""
    copy = find_copy(Path(repo).resolve(), run_id)
    if copy is not None and refs_gone(Path(copy["worktree_path"]), copy["run_id"]) and \
            (run_id is not None or not _later_run(Path(repo), copy["started_at"])):
        return restore_copy(copy)
    return _undo_from_refs(repo, run_id)


def _later_run(repo: Path, since: float) -> bool:
    """Whether a run not yet undone started in this working tree after `since` (it is the one to undo)."""
    try:
        return _latest_note(open_repo(repo))["started_at"] > since
    except GitSafetyError:
        return False


def _undo_from_refs(repo: Path, run_id: str | None) -> str:
    try:
        git = open_repo(repo)
        note = read_note(git, run_id) if run_id else _latest_note(git)
    except UndoError:
        raise
    except GitSafetyError as exc:
        raise UndoError(str(exc)) from exc
    run_id = note["run_id"]
    if Path(note["worktree_path"]).resolve() != git.root.resolve():  # e.g. a batch task's own worktree
        raise UndoError(f"run {run_id} was made in the working tree {note['worktree_path']}; "
                        f"undo it there: glm-agent undo {run_id} --repo {note['worktree_path']}")
    if note.get("undone"):
        raise UndoError(f"run {run_id} was already undone")
    if not note.get("ended"):
        raise UndoError(
            f"run {run_id} never recorded its end (still running, or killed), so its changes cannot be told "
            f"apart from yours. Its starting state is refs/glm-agent/{run_id}/worktree; restore a file with "
            f"`git restore --source=refs/glm-agent/{run_id}/worktree -- PATH`.")
    start, end = git.tree_of(git.ref_path(run_id, "worktree")), git.tree_of(git.ref_path(run_id, "end-worktree"))
    move_head = _check_refs(git, note)
    to_restore, to_delete = _plan_files(git, start, end, run_id)

    for path in to_delete:
        _remove(git.root, path)
    if to_restore:
        with git.temp_index(copy_user_index=False) as env:
            git.run("read-tree", start, env=env)
            git.run("checkout-index", "-f", "-z", "--stdin", env=env, input="\0".join(to_restore) + "\0")
    kept = _move_refs(git, note, move_head)
    if move_head:
        touched = set(git.changed(start, end))
        if note["orig_head"] and note["end_head"]:
            touched |= set(git.changed(note["orig_head"], note["end_head"]))
        git.set_index_entries(git.tree_of(git.ref_path(run_id, "index")), sorted(touched))
    note.update(undone=True, undone_at=time.time())
    write_note(git, note)
    return _report(note, to_restore, to_delete, kept, move_head)


def _latest_note(git: Git) -> dict:
    folder = git.notes_dir()
    notes = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.exists() else []
    mine = [n for n in notes if n.get("worktree_path") == str(git.root) and not n.get("undone")]
    if not mine:
        raise UndoError("no glm-agent run to undo in this working tree")
    return max(mine, key=lambda n: n["started_at"])


def _check_refs(git: Git, note: dict) -> bool:
    """Refuse when commits were made after the run; True when HEAD is where the run left it."""
    run_id, end_head, work = note["run_id"], note.get("end_head"), note["work_branch"]
    current = git.run("symbolic-ref", "-q", "HEAD", check=False).removeprefix("refs/heads/") or None
    ended_on = note.get("end_branch")
    tip = git.rev(f"refs/heads/{work}") if work is not None else None
    if tip is not None and ended_on != work:
        raise UndoError(
            f"run {run_id} ended on {ended_on or 'a detached HEAD'}, not on its branch {work}: a command switched "
            f"branches, so undo cannot tell which commits there are the run's. Its end state is kept as "
            f"refs/glm-agent/{run_id}/end. If {ended_on or 'HEAD'} at {_short(end_head)} holds only the run's "
            f"commits, `git reset --keep {_short(note['orig_head'])}` puts it back, keeping your uncommitted "
            f"changes, and `git branch -d {work}` removes the run's branch.")
    if tip and tip != end_head:
        raise UndoError(
            f"branch {work} has commits made after run {run_id} ended ({_short(end_head)}..{_short(tip)}); "
            f"undo would hide them. Move them elsewhere first, or reset the branch to {_short(end_head)}.")
    at_end = current == work and git.rev("HEAD") == end_head
    if not at_end and not note["created_branch"] and end_head != note["orig_head"]:
        raise UndoError(f"HEAD is no longer where run {run_id} left it ({work or 'detached'} at "
                        f"{_short(end_head)}); check that out again before undoing")
    if not at_end:
        return False
    orig, orig_head = note["orig_branch"], note["orig_head"]
    if note["created_branch"] and orig and git.rev(f"refs/heads/{orig}") != orig_head:
        raise UndoError(f"branch {orig} has moved since run {run_id} started; switch to it yourself "
                        f"(`git switch {orig}`) and run undo again to restore the files")
    return True


def _plan_files(git: Git, start: str, end: str, run_id: str) -> tuple[list[str], list[str]]:
    """Files the run changed that still hold the run's version: to rewrite from the start, or to delete."""
    now = git.worktree_tree()
    s, e, n = git.entries(start), git.entries(end), git.entries(now)
    restore, delete, conflicts = [], [], []
    for path in git.changed(start, end):
        if n.get(path) == s.get(path):
            continue
        if n.get(path) != e.get(path):
            conflicts.append(path)
        elif path in s:
            restore.append(path)
        else:
            delete.append(path)
    if conflicts:
        listed = ", ".join(conflicts)
        raise UndoError(f"these files changed after run {run_id} ended and undo would overwrite them: {listed}. "
                        f"Commit or move your changes, or restore single files with "
                        f"`git restore --source=refs/glm-agent/{run_id}/worktree -- PATH`.")
    return restore, delete


def _move_refs(git: Git, note: dict, move_head: bool) -> str | None:
    """Point HEAD back at the starting branch/commit; keep the run's branch as a ref. Returns that ref."""
    run_id, work, end_head = note["run_id"], note["work_branch"], note.get("end_head")
    orig, orig_head = note["orig_branch"], note["orig_head"]
    zero = "0" * 40
    if move_head and note["created_branch"]:
        if orig:
            git.run("symbolic-ref", "HEAD", f"refs/heads/{orig}")
        else:
            git.run("update-ref", "--no-deref", "HEAD", orig_head)
    elif move_head and end_head != orig_head:
        target = f"refs/heads/{work}" if work else "HEAD"
        if orig_head:
            git.run("update-ref", "--no-deref", target, orig_head, end_head)
        else:
            git.run("update-ref", "-d", target, end_head)
    kept = None
    if end_head and end_head != orig_head:
        kept = git.ref_path(run_id, "branch")
        git.run("update-ref", kept, end_head)
    if note["created_branch"] and git.rev(f"refs/heads/{work}") == end_head:
        git.run("update-ref", "-d", f"refs/heads/{work}", end_head or zero)
    return kept


def _remove(root: Path, path: str) -> None:
    target = root / path
    if target.is_symlink() or target.is_file():
        target.unlink()
    parent = target.parent
    while parent != root and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _short(sha: str | None) -> str:
    return sha[:10] if sha else "(none)"


def _report(note: dict, restored: list[str], removed: list[str], kept: str | None, moved: bool) -> str:
    where = note["orig_branch"] or f"detached HEAD {_short(note['orig_head'])}"
    lines = [f"Undid run {note['run_id']}."]
    if moved:
        lines.append(f"Back on {where}, with your uncommitted changes as they were before the run.")
    if restored:
        lines.append(f"Restored {len(restored)} file(s) the run had changed: {', '.join(restored)}")
    if removed:
        lines.append(f"Removed {len(removed)} file(s) the run had created: {', '.join(removed)}")
    if not restored and not removed:
        lines.append("No files needed restoring.")
    if kept:
        lines.append(f"The run's commits are kept as {kept} "
                     f"(`git branch NAME {kept}` brings them back).")
    return "\n".join(lines)
