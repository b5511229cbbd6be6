"""The plan tool: update_plan keeps the model's steps, records them, shows them live and in result.json."""
from __future__ import annotations

import io
import json
from pathlib import Path

from glm_agent.cli.display import HumanDisplay
from glm_agent.prompts import render
from glm_agent.tools import build_toolset
from helpers import call, finish, run_script, tool_results

PLAN = [{"step": "read calc.py", "status": "done"}, {"step": "fix add()", "status": "in_progress"},
        {"step": "run the tests", "status": "pending"}]


def test_the_plan_is_kept_recorded_and_in_the_result(repo):
    final = [dict(step, status="done") for step in PLAN]
    script = [call("update_plan", steps=PLAN), call("write_file", path="x.txt", content="x\n"),
              call("update_plan", steps=final), finish("done")]
    result, requests, events = run_script(repo, script)

    assert tool_results(requests[1])[0] == ("Plan updated (1 of 3 done):\n[x] read calc.py\n[>] fix add()\n"
                                            "[ ] run the tests")
    plans = [e["steps"] for e in events if e["type"] == "plan"]
    assert plans == [PLAN, final]
    assert result.extra["plan"] == final
    assert json.loads((Path(result.run_dir) / "result.json").read_text())["extra"]["plan"] == final


def test_model_spellings_of_the_statuses_are_accepted(repo):
    toolset = build_toolset(repo)
    steps = [{"step": "a", "status": "In Progress"}, {"step": "b", "status": "completed"}, {"step": "c",
                                                                                            "status": "todo"}]
    result = toolset.dispatch("update_plan", json.dumps({"steps": steps}))

    assert not result.is_error
    assert [s["status"] for s in toolset.plan()] == ["in_progress", "done", "pending"]


def test_a_bad_plan_is_an_error_the_model_can_fix_and_keeps_the_old_plan(repo):
    toolset = build_toolset(repo)
    toolset.dispatch("update_plan", json.dumps({"steps": PLAN}))
    two = [{"step": "a", "status": "in_progress"}, {"step": "b", "status": "in_progress"}]
    unknown = [{"step": "a", "status": "maybe"}]

    refused = toolset.dispatch("update_plan", json.dumps({"steps": two}))
    assert refused.is_error and "at most one step may be in_progress" in refused.text
    invalid = toolset.dispatch("update_plan", json.dumps({"steps": unknown}))
    assert invalid.is_error and "steps.0.status" in invalid.text and "Expected: update_plan(" in invalid.text
    empty = toolset.dispatch("update_plan", json.dumps({"steps": []}))
    assert empty.is_error
    assert toolset.plan() == PLAN


def test_the_wire_schema_is_flat(repo):
    schema = next(s for s in build_toolset(repo).schemas() if s["function"]["name"] == "update_plan")
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and "title" not in text
    item = schema["function"]["parameters"]["properties"]["steps"]["items"]
    assert item["properties"]["status"]["enum"] == ["pending", "in_progress", "done"]


def test_the_human_display_shows_the_plan_live_and_in_the_summary(repo):
    out = io.StringIO()
    display = HumanDisplay(out)
    display.event({"type": "plan", "steps": PLAN + [{"step": "\x1b[31mred\x1b[0m", "status": "pending"}]})
    text = out.getvalue()
    assert "plan:\n  [x] read calc.py\n  [>] fix add()\n  [ ] run the tests\n" in text
    assert "\x1b" not in text  # model text cannot restyle the terminal
    result, _, _ = run_script(repo, [call("update_plan", steps=PLAN), call("bash", command="true"), finish("ok")])
    display.summary(result)
    assert "plan: 1 of 3 steps done" in out.getvalue()


def test_the_system_prompt_says_when_to_plan():
    system = render("system")
    assert "update_plan" in system and "several steps" in system and "one-step task, skip the plan" in system


def test_the_display_shows_a_plan_once_and_a_bad_plan_as_an_error():
    out = io.StringIO()
    display = HumanDisplay(out)
    display.event({"type": "tool_result", "name": "update_plan", "text": "Plan updated (0 of 1 done):\n[ ] a",
                   "is_error": False})
    display.event({"type": "plan", "steps": [{"step": "a", "status": "pending"}]})
    display.event({"type": "tool_result", "name": "update_plan", "text": "Error: at most one", "is_error": True})
    assert out.getvalue() == "plan:\n  [ ] a\n  ✗ Error: at most one\n"
