"""Who glm-agent's commits are by: one rule for the run's snapshots and final commit and for the git_commit tool."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from glm_agent.tools.secretenv import SECRET_ENV

DEFAULT_GIT_USER_NAME = "glm-agent"
DEFAULT_GIT_USER_EMAIL = "glm-agent@localhost"


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
