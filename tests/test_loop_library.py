"""Library use: `from agent import Agent` drives real tools on a repository; the README example stays valid."""
from __future__ import annotations

import runpy
from pathlib import Path

from glm_agent import Agent, RunResult
from glm_agent.testing.models import FunctionModel, make_turn
from glm_agent.tools import build_toolset

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


def test_library_example_imports_resolve():
    namespace = runpy.run_path(str(EXAMPLE), run_name="library_use")
    assert callable(namespace["guarded"]) and callable(namespace["bare"])
