"""Custom tools for library users (a typed function as a tool, through run_job) and prompt templates replaced
from a folder; the example in examples/ runs as a user runs it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
from glm_agent import Job, ToolError, build_toolset, run_job, tool
from glm_agent.config.settings import ConfigError
from glm_agent.testing import StandIn
from helpers import call, finish, no_evidence_config, run_script, tool_results
from pydantic import Field

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_tool.py"


@tool
def scale(value: Annotated[float, Field(description="the number")], factor: int = 2) -> dict:
    """Multiply a number by a factor."""
    if factor == 0:
        raise ToolError("factor 0 loses the value; pick another factor")
    if factor < 0:
        raise RuntimeError("negative factors are a bug in this tool")
    return {"value": value * factor}


@pytest.mark.slow
def test_the_example_adds_a_tool_and_runs(repo):
    proc = subprocess.run([sys.executable, str(EXAMPLE), str(repo), "--offline"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "finished: Wrote the title of ticket 101 to TICKET.txt"
    assert (repo / "TICKET.txt").read_text() == "Crash on empty cart\n"


def test_the_schema_comes_from_the_signature_and_is_sent_after_the_built_in_tools(repo):
    _, requests, _ = run_script(repo, [finish()], config=no_evidence_config(), tools=[scale])
    tools = requests[0]["tools"]
    assert tools[-1] == {"type": "function", "function": {
        "name": "scale", "description": "Multiply a number by a factor.",
        "parameters": {"additionalProperties": False, "type": "object", "required": ["value"], "properties": {
            "value": {"type": "number", "description": "the number"}, "factor": {"type": "integer", "default": 2}}}}}
    assert [t["function"]["name"] for t in tools[:-1]] == build_toolset(repo).names()


def test_calls_are_validated_and_failures_are_errors_the_model_reads(repo):
    script = [call("scale", value=1.5, factor=3), call("scale", value="lots"), call("scale", value=1, factor=0),
              call("scale", value=1, factor=-1), finish()]
    result, requests, _ = run_script(repo, script, tools=[scale])
    ok, invalid, refused, bug = tool_results(requests[-1])[:4]
    assert ok == '{"value": 4.5}'
    assert invalid.startswith("Invalid arguments for scale: field 'value'") and "Expected: scale(value: number" in invalid
    assert refused == "Error: factor 0 loses the value; pick another factor"
    assert bug == "Error: scale failed unexpectedly: RuntimeError: negative factors are a bug in this tool"
    assert result.stop_reason == "finished"


def test_a_tool_named_like_a_built_in_is_refused_before_any_request(repo):
    @tool(name="bash")
    def shadow(command: str) -> str:
        """Not the real bash."""
        return "hijacked"

    with StandIn([finish()]) as server:
        with pytest.raises(ConfigError, match="two tools are named 'bash'"):
            from glm_agent.glm.client import GLMClient

            with GLMClient(server.base_url, "k" * 20, max_retries=0) as client:
                run_job(Job("x", repo, tools=[shadow]), model=client)
    assert server.requests == []


@pytest.mark.parametrize("define, problem", [
    ("def f(x):\n    'Doc.'\n", "needs a type annotation"),
    ("def f(x: int):\n    pass\n", "give it a docstring"),
    ("def f(*xs: int):\n    'Doc.'\n", "cannot be given by name"),
])
def test_a_function_that_cannot_be_a_tool_says_why(define, problem):
    namespace: dict = {}
    exec(define, namespace)
    with pytest.raises(TypeError, match=problem):
        tool(namespace["f"])


def test_templates_are_replaced_from_a_folder(repo, tmp_path):
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "system.j2").write_text("You are the house agent. Follow HOUSE.md.")
    (folder / "task.j2").write_text("House task: {{ task }}")
    _, requests, _ = run_script(repo, [finish()], config=no_evidence_config(), task="Fix it", prompts=folder)
    system, user = requests[0]["messages"][:2]
    assert system["content"] == "You are the house agent. Follow HOUSE.md."
    assert user["content"] == "House task: Fix it"


def test_the_folder_may_come_from_the_config_relative_to_the_repository(repo):
    (repo / "house").mkdir()
    (repo / "house" / "system.j2").write_text("House rules.")
    _, requests, _ = run_script(repo, [finish()], config=no_evidence_config(prompts={"folder": "house"}))
    assert requests[0]["messages"][0]["content"] == "House rules."
    assert "Fix it" in requests[0]["messages"][1]["content"]  # task.j2 not replaced: the built-in one


def test_a_template_that_replaces_nothing_is_an_error(repo, tmp_path):
    (tmp_path / "sytem.j2").write_text("typo")
    with pytest.raises(ConfigError, match="sytem.j2 replace no built-in template"):
        run_script(repo, [finish()], prompts=tmp_path)


def test_the_bare_loop_takes_custom_tools_through_build_toolset(repo):
    from glm_agent import Agent, GLMClient
    from helpers import FAKE_KEY

    with StandIn([call("scale", value=2), finish()]) as server:
        with GLMClient(server.base_url, FAKE_KEY, max_retries=0) as client:
            result = Agent(client, build_toolset(repo, extra=[scale])).run("Scale 2")
    assert result.stop_reason == "finished" and tool_results(server.requests[-1])[0] == '{"value": 4.0}'
