"""Library use: the public API from the package root drives real tools; the example in examples/ really runs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from glm_agent import Agent, RunResult
from glm_agent.testing import StandIn
from glm_agent.testing.models import FunctionModel, make_turn
from glm_agent.tools import build_toolset
from helpers import FAKE_KEY, call, finish, git

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "library_use.py"


def test_agent_from_the_package_root_runs_real_tools(repo):
    def model(messages, tools):
        last = messages[-1]
        if last["role"] == "user":
            return make_turn(calls=[("write_file", {"path": "VERSION", "content": "1.0\n"})])
        return make_turn(calls=[("finish", {"summary": "added VERSION"})])

    result = Agent(FunctionModel(model), build_toolset(repo)).run("Add a VERSION file")
    assert isinstance(result, RunResult)
    assert (result.stop_reason, result.summary, result.files_changed) == ("finished", "added VERSION", ["VERSION"])
    assert (repo / "VERSION").read_text() == "1.0\n"


def test_the_public_api_is_importable_from_the_package_root():
    import glm_agent

    for name in ("Agent", "RunResult", "Model", "GLMClient", "Config", "Job", "run_job", "FixJob", "run_fix"):
        assert getattr(glm_agent, name).__name__ == name
    assert set(dir(glm_agent)) == set(glm_agent.__all__)


def test_the_library_example_runs_a_task_and_commits_it(repo):
    """examples/library_use.py as a user runs it, against the stand-in on loopback instead of Z.ai."""
    script = [call("write_file", path="VERSION", content="1.0\n"), finish("added VERSION")]
    with StandIn(script) as server:
        env = {**os.environ, "ZAI_API_KEY": FAKE_KEY, "GLM_BASE_URL": server.base_url}
        proc = subprocess.run([sys.executable, str(EXAMPLE), str(repo), "Add a VERSION file"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("finished: added VERSION")
    assert (repo / "VERSION").read_text() == "1.0\n"
    assert git(repo, "log", "-1", "--format=%s") == "added VERSION"
