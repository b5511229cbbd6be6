"""The run's work branch: glm-agent/<task-slug>, numbered on when the name is taken."""
from __future__ import annotations

from pathlib import Path

from glm_agent.jobs.records import slugify

AUTO_BRANCH = "glm-agent/{slug}"


def work_branch(requested: str | None, enabled: bool, task: str, repo: Path) -> str | None:
    """`requested` AUTO_BRANCH picks a free glm-agent/<slug> (None when branches are off), anything else is kept."""
    if requested != AUTO_BRANCH:
        return requested
    if not enabled:
        return None
    from glm_agent.git.repo import Git

    git, base = Git(repo), AUTO_BRANCH.format(slug=slugify(task))
    name, n = base, 1
    while git.rev(f"refs/heads/{name}"):
        n += 1
        name = f"{base}-{n}"
    return name
