"""The GitHub Actions example: valid YAML, the promised guards, and only glm-agent commands and flags that exist."""
from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest
import yaml
from glm_agent.cli.main import build_parser

WORKFLOW = Path(__file__).resolve().parents[1] / "examples" / "github-actions" / "glm-agent-fix.yml"
OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&", "(", ")"}


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def run_scripts(workflow: dict) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def glm_agent_commands(script: str) -> list[list[str]]:
    """Every `glm-agent ...` invocation in a shell script, as argv (expressions replaced by a placeholder)."""
    text = re.sub(r"\$\{\{.*?\}\}", "EXPR", script.replace("\\\n", " "))
    commands = []
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        for start, word in enumerate(words):
            if word == "glm-agent" and (start == 0 or words[start - 1] in OPERATORS):  # command position
                argv = []
                for token in words[start + 1:]:
                    if token in OPERATORS:
                        break
                    argv.append(token)
                commands.append(argv)
    return commands


def option_strings(parser: argparse.ArgumentParser, command: str) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {flag for action in sub.choices[command]._actions for flag in action.option_strings}


def test_every_glm_agent_command_and_flag_exists():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    commands = [argv for script in run_scripts(workflow) for argv in glm_agent_commands(script)]
    assert commands, "the workflow should run glm-agent"
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)  # exits (fails the test) on an unknown command or flag
        assert args.handler
        known = option_strings(parser, argv[0])
        used = {word.split("=")[0] for word in argv if word.startswith("-")}
        assert used <= known, f"abbreviated or unknown flags: {used - known}"  # argparse accepts prefixes


def test_trigger_and_guards(workflow):
    trigger = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the bare key `on` as true
    assert trigger["workflow_run"]["types"] == ["completed"]
    assert workflow["concurrency"]["group"] and workflow["concurrency"]["cancel-in-progress"] is True
    (job,) = workflow["jobs"].values()
    assert "conclusion == 'failure'" in job["if"]
    assert "!startsWith(github.event.workflow_run.head_branch, 'glm-agent/')" in job["if"]
    assert 0 < job["timeout-minutes"] <= 60
    assert job["env"]["FIX_BRANCH"].startswith("glm-agent/fix-")


def test_secret_only_where_needed_and_config_from_base_branch(workflow):
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    holders = [s for s in steps if "ZAI_API_KEY" in str(s.get("env", {}))]
    assert [s["env"]["ZAI_API_KEY"] for s in holders] == ["${{ secrets.ZAI_API_KEY }}"]
    assert "glm-agent fix" in holders[0]["run"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] is False
    names = [s.get("name", "") for s in steps]
    base = names.index(next(n for n in names if "base branch" in n))
    assert base < steps.index(holders[0]), "config must come from the base branch before the agent runs"
    assert ".glm-agent.toml" in steps[base]["run"] and "AGENTS.md" in steps[base]["run"]


def test_command_extraction_sees_flags_after_line_continuations():
    script = ('pip install glm-agent\nset +e\nglm-agent fix --check "$CHECK" \\\n  --max-attempts 3 --json > "$OUT"\n'
              'true && glm-agent undo')
    assert glm_agent_commands(script) == [["fix", "--check", "$CHECK", "--max-attempts", "3", "--json"], ["undo"]]
