"""Use glm-agent from Python: one task on a repository, with the CLI's git safety, or as the bare loop.

    ZAI_API_KEY=... python examples/library_use.py PATH/TO/REPO "Add a --version flag to the CLI"
    GLM_BASE_URL=http://gpu-box:8000/v1 python examples/library_use.py ...   # any GLM-compatible server
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from glm_agent import Agent, Config, GLMClient, Job, build_toolset, run_job


def guarded(repo: Path, task: str):
    """What `glm-agent run` does: work branch, snapshot of your uncommitted work, commit, run record."""
    config = Config(model={"base_url": os.environ.get("GLM_BASE_URL")}, limits={"max_steps": 40, "max_cost_usd": 0.50})
    return run_job(Job(task, repo, config))


def bare(repo: Path, task: str):
    """Only the loop: no branch, no commit, no record; the repository state is yours to manage."""
    with GLMClient(os.environ.get("GLM_BASE_URL"), model="glm-4.6") as client:
        return Agent(client, build_toolset(repo)).run(task)


if __name__ == "__main__":
    result = guarded(Path(sys.argv[1]), sys.argv[2])
    print(f"{result.stop_reason}: {result.summary or result.error}")
    print(f"{result.steps} steps, ${result.cost_usd:.4f}, commit {result.commit} on {result.branch}")
    sys.exit(0 if result.stop_reason == "finished" else 1)
