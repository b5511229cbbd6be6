"""The check of `glm-agent fix`: running the check command, and the finish gate that reruns it.

The check's output goes to a temporary file, not a pipe: a check that leaves a background process behind
(a test server, a daemon) is done when its own process exits, not when every inheritor closes the pipe.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from glm_agent.tools.base import SECRET_ENV
from glm_agent.tools.shell.procs import kill_group
from glm_agent.tools.shell.sandbox import Sandbox

if TYPE_CHECKING:
    from glm_agent.tools.finish import Refusal

OUTPUT_TAIL = 8000
CANNOT_RUN = (126, 127)  # the shell's "cannot execute" and "command not found"


@dataclass
class CheckRun:
    """One run of the check command."""

    command: str
    exit_code: int
    duration_s: float
    output: str
    timed_out: bool = False

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def as_dict(self) -> dict:
        return {"exit_code": self.exit_code, "duration_s": self.duration_s, "timed_out": self.timed_out}


def run_check(command: str, cwd: Path, timeout: float, hidden: Sequence[str] = SECRET_ENV, *,
              sandbox: Sandbox) -> CheckRun:
    """Run the check inside the job's `sandbox` (it runs the repository's code) in its own process group (all
    of it killed on timeout), without the `hidden` variables (the API keys, plus tools.extra_env_remove) in its
    environment."""
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the check's __pycache__ would end up in the fix commit
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(sandbox.wrap(["/bin/sh", "-c", command], Path(cwd).resolve()), cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:  # also on Ctrl-C or the run's deadline: nothing of the check outlives it
            kill_group(proc.pid)
            proc.wait()
        text = _tail(out)
    if proc.returncode != 0 and sandbox.hint(text):
        text = f"{text}\n{sandbox.hint(text)}"
    return CheckRun(command, proc.returncode, round(time.monotonic() - started, 2), text, timed_out)


def _tail(out) -> str:
    """The last OUTPUT_TAIL characters of the output (only the end of a huge output is read)."""
    size = out.seek(0, os.SEEK_END)
    out.seek(max(0, size - 4 * OUTPUT_TAIL))
    text = out.read().decode("utf-8", errors="replace")
    if size > 4 * OUTPUT_TAIL or len(text) > OUTPUT_TAIL:
        text = "[... earlier output cut ...]\n" + text[-OUTPUT_TAIL:]
    return text.rstrip()


def time_left(limit: float, end: float) -> float:
    """`limit` seconds, or less when the job's wall-clock end comes first."""
    return max(0.0, min(limit, end - time.monotonic()))


class FixGate:
    """The finish gate: refuses finish while protected files are changed or the check fails; ends the run
    after `max_attempts` refusals."""

    def __init__(self, command: str, repo: Path, timeout: float, max_attempts: int, *, protected: list[str],
                 run_id: str, end: float, hidden: Sequence[str] = SECRET_ENV, sandbox: Sandbox):
        self.command, self.repo, self.timeout, self.max_attempts = command, repo, timeout, max_attempts
        self.protected, self.run_id, self.end, self.hidden = protected, run_id, end, hidden
        self.sandbox = sandbox
        self.attempts = 0
        self.last: CheckRun | None = None

    def __call__(self, summary: str) -> Refusal | None:
        from glm_agent.prompts import render
        from glm_agent.tools import EndRun
        from glm_agent.tools.finish import Refusal

        self.attempts += 1
        touched = self.protected_changes()
        if not touched:
            self.last = run_check(self.command, self.repo, time_left(self.timeout, self.end), self.hidden,
                                  sandbox=self.sandbox)
            if self.last.passed:
                return None
        if self.attempts >= self.max_attempts:  # nothing is committed: only finished runs commit
            why = f"protected files changed: {', '.join(touched)}" if touched else "the check still fails"
            raise EndRun("check_failed", f"{why} after {self.attempts} finish attempts")
        text = render("fix_gate", check=vars(self.last) if self.last else None, protected_changed=touched,
                      snapshot=f"refs/glm-agent/{self.run_id}/worktree", attempt=self.attempts,
                      max_attempts=self.max_attempts)
        return Refusal(text, "protected_changed" if touched else "check_failed")

    def protected_changes(self) -> list[str]:
        """Protected paths that differ from the run's starting snapshot (changed through bash, say)."""
        from glm_agent.git.repo import open_repo
        from glm_agent.tools.workspace import protected_among

        if not self.protected:
            return []
        git = open_repo(self.repo)
        changed = git.changed(git.tree_of(git.ref_path(self.run_id, "worktree")), git.worktree_tree())
        return protected_among(changed, self.protected)
