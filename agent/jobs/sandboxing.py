"""The sandbox of one job, decided once before anything in the repository changes, and said on stderr when off."""
from __future__ import annotations

import sys
from pathlib import Path

from glm_agent.config.settings import Config
from glm_agent.core.stops import UserError
from glm_agent.tools.shell.sandbox import Sandbox, SandboxUnavailable, open_sandbox


class SandboxError(UserError):
    """--sandbox bwrap where bubblewrap cannot start (exit code 2)."""


def job_sandbox(config: Config, repo: Path) -> Sandbox:
    """The sandbox for the job's commands; without one, one loud line on stderr (the run goes on)."""
    try:
        sandbox = open_sandbox(config.sandbox, repo)
    except SandboxUnavailable as exc:
        raise SandboxError(str(exc)) from None
    if not sandbox.active:
        loud = "WARNING: " if config.sandbox.mode == "auto" else ""
        print(f"glm-agent: {loud}sandbox off ({sandbox.reason}): the model's commands can read your files and "
              "credentials, use the network and change .git; the start snapshot is also copied outside the "
              "repository for undo", file=sys.stderr, flush=True)
    return sandbox


def copy_when_unsandboxed(sandbox: Sandbox, config: Config, guard) -> dict | None:
    """Without the sandbox, the user's uncommitted work is also copied outside the repository (glm_agent.git.outside);
    what was done, for the run record. A copy that cannot be made is said on stderr; the run goes on."""
    from glm_agent.git.outside import save_copy

    if sandbox.active:
        return None
    try:
        copy = save_copy(guard.git, guard.note, guard.user_changes, int(config.sandbox.copy_max_mb * 1e6))
    except OSError as exc:
        print(f"glm-agent: WARNING: no copy of your uncommitted work could be kept outside the repository: {exc}",
              file=sys.stderr, flush=True)
        return {"path": None, "bytes": 0, "skipped": str(exc)}
    if copy.skipped:
        print(f"glm-agent: WARNING: {copy.skipped}", file=sys.stderr, flush=True)
    return {"path": str(copy.path) if copy.path else None, "bytes": copy.size, "skipped": copy.skipped}
