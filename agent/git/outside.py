"""A copy of the user's uncommitted work kept outside the repository, for runs whose commands are not sandboxed.

Without the sandbox a command can delete .git, and the start snapshot (refs/glm-agent/<run-id>/) with it. So the
files uncommitted when the run began (modified, deleted, staged, untracked: their working-tree and staged
versions) are also copied to the user's state folder, $XDG_STATE_HOME/glm-agent/copies/<run-id>/ (default
~/.local/state/glm-agent), when they fit in the configured bound; `glm-agent undo` puts them back from there
when the refs are gone. Only the latest KEEP_COPIES copies are kept.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from glm_agent.git.repo import Git, GitSafetyError, open_repo

KEEP_COPIES = 20
_MODES = {"100644": 0o644, "100755": 0o755}


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "glm-agent"


def copies_dir() -> Path:
    return state_dir() / "copies"


@dataclass
class Copy:
    """What save_copy did: the folder (None when nothing was copied), the bytes, and why not, if not."""

    path: Path | None
    size: int
    skipped: str | None = None


def save_copy(git: Git, note: dict, user_changes: list[str], limit_bytes: int) -> Copy:
    """Copy the working-tree and staged versions of `user_changes` out of the run's start snapshot."""
    run_id = note["run_id"]
    trees = {name: git.entries(git.tree_of(git.ref_path(run_id, name))) for name in ("worktree", "index")}
    files = {path: {name: trees[name].get(path) for name in trees} for path in sorted(set(user_changes))}
    blobs = {entry[1] for versions in files.values() for entry in versions.values()
             if entry and entry[0] in (*_MODES, "120000")}
    contents = _read_blobs(git, blobs)
    size = sum(len(data) for data in contents.values())
    if size > limit_bytes:
        return Copy(None, size, f"the uncommitted and untracked files take {size / 1e6:.1f} MB, more than "
                                f"sandbox.copy_max_mb ({limit_bytes / 1e6:g} MB): no copy is kept outside the "
                                "repository, and undo relies on the refs in .git alone")
    folder = copies_dir() / run_id
    (folder / "blobs").mkdir(parents=True, exist_ok=True)
    for sha, data in contents.items():
        (folder / "blobs" / sha).write_bytes(data)
    manifest = {"run_id": run_id, "worktree_path": note["worktree_path"], "started_at": note["started_at"],
                "orig_head": note["orig_head"], "orig_branch": note["orig_branch"], "files": files,
                "restored": False}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    _prune()
    return Copy(folder, size)


def find_copy(root: Path, run_id: str | None) -> dict | None:
    """The manifest of run `run_id`'s copy, or of the latest copy not yet restored made in the working tree
    holding `root` (with "folder" added)."""
    folder = copies_dir()
    if run_id is not None:
        found = [folder / run_id / "manifest.json"] if "/" not in run_id and not run_id.startswith(".") else []
    else:
        found = list(folder.glob("*/manifest.json")) if folder.is_dir() else []
    manifests = []
    for path in found:
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        inside = Path(manifest["worktree_path"]) in (root, *root.parents)
        if run_id is not None or (inside and not manifest.get("restored")):
            manifests.append({**manifest, "folder": str(path.parent)})
    return max(manifests, key=lambda m: m["started_at"]) if manifests else None


def refs_gone(root: Path, run_id: str) -> bool:
    """Whether the run's start snapshot is no longer in the repository (or the repository itself is gone)."""
    try:
        git = open_repo(root)
    except GitSafetyError:
        return True
    return git.root.resolve() != Path(root).resolve() or git.rev(git.ref_path(run_id, "worktree")) is None


def restore_copy(manifest: dict) -> str:
    """Put the copied files back byte for byte (and their staged versions, when the repository is still there);
    what was in their place is kept beside the copy. Returns the report."""
    root, folder = Path(manifest["worktree_path"]), Path(manifest["folder"])
    replaced = folder / f"replaced-{int(time.time())}"
    for path, versions in manifest["files"].items():
        target, entry = root / path, versions["worktree"]
        data = (folder / "blobs" / entry[1]).read_bytes() if entry is not None else None
        if _holds(target, entry, data):
            continue
        if target.exists() or target.is_symlink():
            keep = replaced / path
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(target), str(keep))
        if entry is not None:
            _write(target, entry[0], data)
    staged = _restage(root, folder, manifest["files"])
    manifest["restored"] = True
    (folder / "manifest.json").write_text(json.dumps({k: v for k, v in manifest.items() if k != "folder"}, indent=2))
    lines = [f"Undid run {manifest['run_id']} from the copy kept outside the repository ({folder}): the run's "
             "snapshot refs in .git are gone (a command removed them).",
             f"Restored your {len(manifest['files'])} uncommitted or untracked file(s) as they were before the run: "
             f"{', '.join(manifest['files'])}." if manifest["files"] else
             "You had no uncommitted or untracked files when the run began: none needed restoring.",
             staged,
             "Files the run changed that were committed before it, and files it created, are not in this copy: "
             "check them with git status."]
    if replaced.exists():
        lines.append(f"What was in their place is kept in {replaced}.")
    return "\n".join(line for line in lines if line)


def _restage(root: Path, folder: Path, files: dict) -> str:
    """The staged versions back into the index; a sentence when that is not possible."""
    try:
        git = open_repo(root)
    except GitSafetyError:
        return "There is no git repository here any more (was .git deleted?), so nothing could be staged again."
    if git.root.resolve() != root.resolve():
        return f"{root} is no longer a git repository of its own, so nothing could be staged again."
    lines = []
    for path, versions in files.items():
        entry = versions["index"]
        if entry is None:
            lines.append(f"0 {'0' * 40}\t{path}")
            continue
        blob = folder / "blobs" / entry[1]
        sha = git.run("hash-object", "-w", "--stdin", input=blob.read_bytes()) if blob.exists() else entry[1]
        lines.append(f"{entry[0]} {sha}\t{path}")
    if lines:
        git.run("update-index", "-z", "--index-info", input="\0".join(lines) + "\0")
    return "Your staged changes are staged again."


def _holds(target: Path, entry: list | None, data: bytes | None) -> bool:
    """Whether `target` already is the copied version (absent when it was absent)."""
    if entry is None:
        return not (target.exists() or target.is_symlink())
    if entry[0] == "120000":
        return target.is_symlink() and os.fsencode(os.readlink(target)) == data
    return (target.is_file() and not target.is_symlink() and target.read_bytes() == data
            and bool(target.stat().st_mode & 0o100) == (entry[0] == "100755"))


def _write(target: Path, mode: str, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "120000":
        os.symlink(os.fsdecode(data), target)
        return
    tmp = target.with_name(f".{target.name}.glm-agent-undo")
    tmp.write_bytes(data)
    tmp.chmod(_MODES.get(mode, 0o644))
    tmp.replace(target)


def _read_blobs(git: Git, shas: set[str]) -> dict[str, bytes]:
    """The contents of blobs, with one `git cat-file --batch`."""
    if not shas:
        return {}
    order = sorted(shas)
    out = git.run("cat-file", "--batch", input="\n".join(order) + "\n", strip=False).encode("utf-8", "surrogateescape")
    contents, at = {}, 0
    for sha in order:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        contents[sha] = out[header_end + 1:header_end + 1 + size]
        at = header_end + 1 + size + 1
    return contents


def _prune() -> None:
    """Keep the latest KEEP_COPIES copies (by modification time), so the state folder stays bounded."""
    folders = sorted((p for p in copies_dir().iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in folders[:-KEEP_COPIES]:
        shutil.rmtree(old, ignore_errors=True)
