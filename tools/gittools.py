"""git_status, git_diff, git_log and git_commit through gitpython, on the workspace's repository."""
from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from glm_agent.tools.base import ToolError
from glm_agent.tools.files.state import FileState
from glm_agent.tools.identity import commit_identity
from glm_agent.tools.workspace import Workspace

if TYPE_CHECKING:
    from glm_agent.tools.schemas import GitCommit, GitDiff, GitLog, GitStatus

GIT_TIMEOUT = 120


class GitTools:
    """The git tools bound to a workspace (a missing repository is a tool error, not a crash)."""

    def __init__(self, workspace: Workspace, history: FileState, user_changes: list[str] | None = None):
        """`user_changes`: the dirty paths when the run began, if the caller already knows them (saves a git status)."""
        self.ws, self.history = workspace, history
        # uncommitted before the run: the user's work, not the agent's to commit
        self._users = set(self._dirty() if user_changes is None else user_changes)

    def git_status(self, args: GitStatus) -> str:
        out = self._git("status", "--short", "--branch", "--untracked-files=all")
        return _truncate(out, self.ws.settings.output_limit) if "\n" in out else out + "\n(clean: nothing to commit)"

    def git_diff(self, args: GitDiff) -> str:
        command = ["diff", "--no-color", "--no-ext-diff", "--stat", "--patch"]
        if args.staged:
            command.append("--cached")
        if args.path:
            command += ["--", self.ws.rel(self.ws.resolve(args.path))]
        out = self._git(*command)
        if not out:
            untracked = "" if args.staged else self._git("ls-files", "--others", "--exclude-standard")
            note = f"\nUntracked (new) files, not shown in the diff:\n{untracked}" if untracked else ""
            return ("No staged changes." if args.staged else "No unstaged changes.") + note
        return _truncate(out, self.ws.settings.output_limit)

    def git_log(self, args: GitLog) -> str:
        try:
            return self._git("log", f"-n{args.n}", "--date=short", "--format=%h %ad %an: %s") or "(no commits)"
        except ToolError as exc:
            if "does not have any commits" in str(exc):
                return "(no commits yet)"
            raise

    def git_commit(self, args: GitCommit) -> str:
        if args.paths:
            rels = [self.ws.rel(self.ws.resolve(path)) for path in args.paths]
        else:
            mine = set(self.history.changed())
            rels = [path for path in self._dirty() if path not in self._users or path in mine]
        left_out = sorted(self._users - set(rels)) if not args.paths else []
        if rels:
            self._git("add", "--", *rels)
        if not rels or not self._git("diff", "--cached", "--name-only", "--", *rels):
            note = f" The user's own uncommitted changes ({', '.join(left_out[:5])}) are left out." if left_out else ""
            raise ToolError(f"nothing to commit: no changes made in this run (check git_status).{note}")
        identity = commit_identity(self.ws.root, self.ws.settings.git_user_name, self.ws.settings.git_user_email)
        self._git("commit", "--quiet", "-m", args.message, "--", *rels, env=identity)  # only these: staged work stays
        shown = self._git("show", "--stat", "--format=Committed %h on %D: %s", "HEAD")
        return shown + (f"\nLeft uncommitted (the user's own changes): {', '.join(left_out)}" if left_out else "")

    def _dirty(self) -> list[str]:
        """Paths with uncommitted changes (staged, unstaged or untracked, not ignored), repo-relative.

        Plain subprocess, not gitpython: this runs at toolset build, before the first request, and importing
        gitpython (which also runs `git version` twice) would delay it."""
        hidden = self.ws.settings.hidden_env
        env = {**os.environ, **{name: "" for name in hidden}}  # blanked, like _git's (hooks and filters run)
        try:
            proc = subprocess.run(["git", "status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all"],
                                  cwd=self.ws.root, env=env, capture_output=True, stdin=subprocess.DEVNULL,
                                  timeout=GIT_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired):
            return []
        if proc.returncode != 0:
            return []
        out = proc.stdout.decode(errors="surrogateescape")
        return [entry[3:] for entry in out.split("\0") if len(entry) > 3]

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        import git  # GitPython costs ~0.2 s to import; the first request needs no git tool

        try:
            return git.Git(str(self.ws.root)).execute(  # hooks and filters run too: blank the keys for them
                ["git", *args], kill_after_timeout=GIT_TIMEOUT, strip_newline_in_stdout=True,
                env={**{name: "" for name in self.ws.settings.hidden_env}, **(env or {})})
        except git.GitCommandError as exc:
            detail = str(exc.stderr or exc.stdout or "").strip()
            detail = detail.removeprefix("stderr:").strip().strip("'").strip()
            raise ToolError(f"git {_subcommand(args)} failed: {detail}") from None


def _subcommand(args: tuple[str, ...]) -> str:
    words = list(args)
    while words[:1] == ["-c"]:
        words = words[2:]
    return words[0] if words else ""


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit:,} characters omitted; pass path= to see one file ...]\n{text[-half:]}"
