"""`glm-agent demo`: fix a failing test in a sample project, offline via the stand-in or live with GLM-4.6."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from glm_agent.core.result import RunResult

TASK = ("The test suite of this project fails (run it with `python3 -m unittest -q`). "
        "Find the bug in the shopcart package and fix it, without changing the tests.")
HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "demo_script.json"
TURN_LATENCY = 0.4  # seconds per stand-in answer: slow enough to watch the run stream


def demo_source() -> Path:
    """The demo project: packaged in the wheel as glm_agent/demo_repo, or examples/demo-repo in a checkout."""
    for candidate in (HERE.parent / "demo_repo", HERE.parents[1] / "examples" / "demo-repo"):
        if (candidate / "shopcart").is_dir():
            return candidate
    raise FileNotFoundError("the demo project is missing from this installation (glm_agent/demo_repo)")


def prepare_repo(target: Path) -> Path:
    """Copy the demo project to `target` and make it a git repository with one commit."""
    shutil.copytree(demo_source(), target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git = ["git", "-c", "user.name=glm-agent demo", "-c", "user.email=demo@glm-agent.invalid",
           "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "shopcart: cart totals with bulk discounts"]):
        subprocess.run(git + args, cwd=target, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return target


@contextmanager
def demo_repository(keep: bool = False) -> Iterator[Path]:
    """A fresh copy of the demo project as a git repository in a temporary folder, removed afterwards unless `keep`."""
    workspace = Path(tempfile.mkdtemp(prefix="glm-agent-demo-"))
    try:
        yield prepare_repo(workspace / "shopcart")
    finally:
        if not keep:
            shutil.rmtree(workspace, ignore_errors=True)


def run_demo(repo: Path, *, live: bool = False, display: Any = None) -> RunResult:
    """The demo task on `repo`: offline against the stand-in replaying recorded GLM-4.6 turns, or live."""
    from glm_agent.config.loading import load_config
    from glm_agent.config.settings import Config
    from glm_agent.jobs.run import Job, run_job

    config = load_config(None) if live else Config()  # live: the user's endpoint/model settings apply
    config = replace(config, limits=replace(config.limits, max_steps=min(config.limits.max_steps, 30)))
    job = Job(TASK, repo, config, branch="glm-agent/fix-shopcart")
    return run_job(job, display=display) if live else _offline(job, display)


def _offline(job, display):
    """The real client and loop against the stand-in on loopback, replaying the recorded GLM turns."""
    from glm_agent.glm.client import GLMClient
    from glm_agent.jobs.run import run_job
    from glm_agent.testing import StandIn, load_script

    with StandIn(load_script(SCRIPT), latency=TURN_LATENCY) as server:
        with GLMClient(server.base_url, "offline-demo", max_retries=0) as client:
            return run_job(job, display=display, model=client)


def demo_diff(repo: Path) -> str:
    """What the run changed against the demo's starting branch, as a stat and a patch."""
    proc = subprocess.run(["git", "diff", "--stat", "-p", "main", "--", "."], cwd=repo, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    return proc.stdout.strip() or "(no changes)"
