"""Types shared by every tool: the result a call returns, the settings, and the model-fixable error."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tools.secretenv import SECRET_ENV

DEFAULT_GIT_USER_NAME = "glm-agent"
DEFAULT_GIT_USER_EMAIL = "glm-agent@localhost"


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returns to the loop; `finish_summary` is set only when finish was accepted, `malformed`
    when the call could not even be read (unknown tool, unparsable arguments): the loop counts those as format
    errors rather than as a repeated action."""

    text: str
    is_error: bool = False
    finish_summary: str | None = None
    malformed: bool = False


@dataclass(frozen=True)
class ToolSettings:
    """Knobs of the toolset, validated once by the config layer (agent.config.ToolOptions checks the bounds in
    the field metadata) and passed in."""

    bash_timeout_default: int = field(default=120, metadata={"gt": 0})
    bash_timeout_max: int = field(default=600, metadata={"gt": 0})
    output_limit: int = field(default=30000, metadata={"gt": 0})
    git_user_name: str = DEFAULT_GIT_USER_NAME  # the identity of glm-agent's commits when the repository has
    git_user_email: str = DEFAULT_GIT_USER_EMAIL  # none of its own (commit_identity)
    protected: list[str] = field(default_factory=list)
    extra_env_remove: list[str] = field(default_factory=list)

    @property
    def hidden_env(self) -> frozenset[str]:
        """Variables kept from commands: the built-in key names always, plus the configured extra ones (a
        repository's config can add names, never bring the key back)."""
        return frozenset(SECRET_ENV).union(self.extra_env_remove)


def commit_identity(root: str | Path, name: str | None = None, email: str | None = None) -> dict[str, str]:
    """The one identity rule for every commit glm-agent makes (the snapshots and final commit of a run, the
    git_commit tool), as environment variables for that git command, so no config is ever written.

    The repository's own identity when it has one: user.name and user.email both set, as git reads them in
    `root` (its own config, the global or system one; GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL count too) -> {} and
    git uses it. Otherwise the configured identity (tools.git_user_name / tools.git_user_email, `name` and
    `email` here), else the default, glm-agent <glm-agent@localhost>, for author and committer alike: never half
    of one identity with half of another."""
    env = {key: value for key, value in os.environ.items() if key not in SECRET_ENV}
    try:
        proc = subprocess.run(["git", "config", "--get-regexp", r"^user\.(name|email)$"], cwd=root, env=env,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        out = proc.stdout.decode(errors="surrogateescape") if proc.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    found = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    if (env.get("GIT_AUTHOR_NAME") or found.get("user.name")) and \
            (env.get("GIT_AUTHOR_EMAIL") or found.get("user.email")):
        return {}
    name, email = name or DEFAULT_GIT_USER_NAME, email or DEFAULT_GIT_USER_EMAIL
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email}


class ToolError(Exception):
    """A failure the model can fix: reported back to it as an error result, never raised to the loop."""


class EndRun(Exception):
    """Raised by a tool or finish gate to stop the run with its own stop reason; dispatch lets it through."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason
