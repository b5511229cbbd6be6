"""`glm-agent demo`: fix a failing test in a sample project, offline via the stand-in or live with GLM-4.6."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

TASK = ("The test suite of this project fails (run it with `python3 -m unittest -q`). "
        "Find the bug in the shopcart package and fix it, without changing the tests.")
HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "demo_script.json"
TURN_LATENCY = 0.4  # seconds per stand-in answer: slow enough to watch the run stream


def demo_source() -> Path:
    """The demo project: packaged in the wheel as agent/demo_repo, or examples/demo-repo in a checkout."""
    for candidate in (HERE / "demo_repo", HERE.parent / "examples" / "demo-repo"):
        if (candidate / "shopcart").is_dir():
            return candidate
    raise FileNotFoundError("the demo project is missing from this installation (agent/demo_repo)")


def prepare_repo(target: Path) -> Path:
    """Copy the demo project to `target` and make it a git repository with one commit."""
    shutil.copytree(demo_source(), target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git = ["git", "-c", "user.name=glm-agent demo", "-c", "user.email=demo@glm-agent.invalid",
           "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "shopcart: cart totals with bulk discounts"]):
        subprocess.run(git + args, cwd=target, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return target


def run_demo(*, live: bool = False, keep: bool = False, as_json: bool = False) -> int:
    """Run the demo task and show the diff; returns the CLI exit code."""
    from agent.cli import report
    from agent.config import Config, load_config
    from agent.display import HumanDisplay
    from agent.runner import Job, run_job

    workspace = Path(tempfile.mkdtemp(prefix="glm-agent-demo-"))
    try:
        repo = prepare_repo(workspace / "shopcart")
        display = None if as_json else HumanDisplay(show_reasoning=True)
        if display is not None:
            print(f"demo repository: {repo}\ntask: {TASK}\nmodel: {'GLM-4.6 (live)' if live else 'offline GLM stand-in, recorded turns'}\n")
        config = load_config(None) if live else Config()  # live: the user's endpoint/model settings apply
        config = replace(config, limits=replace(config.limits, max_steps=min(config.limits.max_steps, 30)))
        job = Job(TASK, repo, config, branch="glm-agent/fix-shopcart")
        result = run_job(job, display=display) if live else _offline(job, display)
        code = report(result, as_json, display)
        if not as_json:
            print("\nThe change:\n" + _diff(repo))
            print(f"\n(kept: {repo})" if keep else "\n(the demo repository is temporary; add --keep to look around in it)")
        return code
    finally:
        if not keep:
            shutil.rmtree(workspace, ignore_errors=True)


def _offline(job, display):
    """The real client and loop against the stand-in on loopback, replaying the recorded GLM turns."""
    from agent.client import GLMClient
    from agent.runner import run_job
    from agent.standin import StandIn, load_script

    with StandIn(load_script(SCRIPT), latency=TURN_LATENCY) as server:
        with GLMClient(server.base_url, "offline-demo", max_retries=0) as client:
            return run_job(job, display=display, model=client)


def _diff(repo: Path) -> str:
    proc = subprocess.run(["git", "diff", "--stat", "-p", "main", "--", "."], cwd=repo, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    return proc.stdout.strip() or "(no changes)"


if __name__ == "__main__":
    sys.exit(run_demo())
