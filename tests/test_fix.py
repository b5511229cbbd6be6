"""`glm-agent fix` end to end: real check commands, real git, the GLM stand-in over loopback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from glm_agent.cli.main import main
from glm_agent.testing import Reply, StandIn
from helpers import (
    CALC_FIXED,
    CHECK,
    TEST,
    buggy_project,
    call,
    git,
    tool_results,
)


def careful_fixer(body: dict) -> Reply:
    """Tries to edit the test, then finishes too early, then fixes the code, then finishes."""
    step = len(tool_results(body))
    if step == 0:
        return call("edit_file", path="tests/test_calc.py", old_string="result == 5", new_string="result == -1")
    if step == 1:
        return call("finish", summary="Fixed it (not really).")
    if step == 2:
        return call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
    return call("finish", summary="add() subtracted; it now adds. Check passes.")


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-fix-0123456789")


def run_fix(capsys, repo: Path, server: StandIn, *extra: str) -> tuple[int, dict]:
    code = main(["fix", "--check", CHECK, "--repo", str(repo), "--base-url", server.base_url, "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_fix_succeeds_only_after_the_check_passes(repo, key, capsys, tmp_path):
    buggy_project(repo)
    summary_md = tmp_path / "summary.md"
    with StandIn(responder=careful_fixer) as server:
        code, result = run_fix(capsys, repo, server, "--summary-md", str(summary_md))
        requests = server.requests

    assert code == 0 and result["stop_reason"] == "finished"
    # the task prompt carried the failing command and its output
    prompt = requests[0]["messages"][1]["content"]
    assert CHECK in prompt and "add(2, 3) returned -1, expected 5" in prompt
    # the protected test edit was refused, and the test is untouched
    assert "protected" in tool_results(requests[1])[0]
    assert (repo / "tests" / "test_calc.py").read_text() == TEST
    # the premature finish was refused with the check's new failure
    refusal = tool_results(requests[2])[1]
    assert refusal.startswith("finish refused") and "returned -1" in refusal and "attempt 1 of 3" in refusal
    extra = result["extra"]
    assert extra["attempts"] == 2 and extra["test_files_changed"] == []
    assert extra["check_before"]["exit_code"] == 1 and extra["check_after"]["exit_code"] == 0
    assert result["branch"].startswith("glm-agent/fix-")
    assert git(repo, "show", "--name-only", "--format=", result["commit"]) == "calc.py"
    assert git(repo, "show", f"{result['commit']}:calc.py") == CALC_FIXED.strip()
    recorded = json.loads((Path(result["run_dir"]) / "result.json").read_text())
    assert recorded["extra"]["check_after"]["exit_code"] == 0
    md = summary_md.read_text()
    assert "check fixed" in md and "calc.py" in md and "returned -1" in md


def stubborn(body: dict) -> Reply:
    return call("finish", summary="I am sure it works.")


def test_check_still_failing_exits_4_without_commit(repo, key, tmp_path):
    buggy_project(repo)
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n")
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(step_summary)}
    with StandIn(responder=stubborn) as server:
        proc = subprocess.run(
            [sys.executable, "-I", "-m", "glm_agent", "fix", "--check", CHECK, "--max-attempts", "2", "--repo", str(repo),
             "--base-url", server.base_url, "--json"], capture_output=True, text=True, env=env, timeout=120)
        finishes = len(server.requests)

    assert proc.returncode == 4, proc.stderr
    result = json.loads(proc.stdout)
    assert result["stop_reason"] == "check_failed" and result["commit"] is None
    assert result["extra"]["attempts"] == 2 and finishes == 2
    assert result["extra"]["check_after"]["exit_code"] == 1
    assert json.loads((Path(result["run_dir"]) / "result.json").read_text())["stop_reason"] == "check_failed"
    events = [json.loads(line) for line in (Path(result["run_dir"]) / "trajectory.jsonl").read_text().splitlines()]
    stop = next(e for e in events if e["type"] == "stop")
    assert stop["stop_reason"] == "check_failed" and "after 2 finish attempts" in stop["error"]
    assert git(repo, "rev-parse", result["branch"]) == git(repo, "rev-parse", "main")
    md = step_summary.read_text()
    assert md.startswith("earlier step\n") and "check still failing" in md


def test_nothing_to_fix(repo, key, capsys):
    buggy_project(repo)
    (repo / "calc.py").write_text(CALC_FIXED)
    git(repo, "commit", "-qam", "fixed by hand")
    with StandIn([]) as server:
        code, result = run_fix(capsys, repo, server)
        assert server.requests == []
    assert code == 0 and result["stop_reason"] == "nothing_to_fix"
    assert result["extra"]["check_before"]["exit_code"] == 0
    assert git(repo, "branch", "--list", "glm-agent/*") == ""


def cheater(body: dict) -> Reply:
    if not tool_results(body):
        return call("edit_file", path="tests/test_calc.py", old_string="result == 5", new_string="result == -1")
    return call("finish", summary="Made the test pass.")


def test_allow_test_edits_lifts_protection_and_reports_the_test_change(repo, key, capsys):
    buggy_project(repo)
    with StandIn(responder=cheater) as server:
        code, result = run_fix(capsys, repo, server, "--allow-test-edits")
    assert code == 0
    assert result["extra"]["test_files_changed"] == ["tests/test_calc.py"]


def reader(body: dict) -> Reply:
    return call("read_file", path="calc.py")


def test_limit_reached_with_check_still_failing_exits_4(repo, key, capsys):
    buggy_project(repo)
    with StandIn(responder=reader) as server:
        code, result = run_fix(capsys, repo, server, "--max-steps", "2")
    assert code == 4
    assert result["stop_reason"] == "limit_reached" and result["extra"]["attempts"] == 0
    assert result["extra"]["check_after"]["exit_code"] == 1 and result["commit"] is None


@pytest.mark.parametrize("extra, limit", [((), 1800.0), (("--timeout", "120"), 120.0),
                                          (("-c", "limits.timeout=600"), 600.0)])
def test_a_fix_job_always_has_a_time_limit(repo, key, capsys, extra, limit):
    """CI jobs must end: without --timeout (or limits.timeout in config) the job gets 30 minutes."""
    buggy_project(repo)
    with StandIn(responder=careful_fixer) as server:
        code, result = run_fix(capsys, repo, server, *extra)
    start = json.loads((Path(result["run_dir"]) / "trajectory.jsonl").read_text().splitlines()[0])
    assert code == 0 and start["type"] == "start"
    # the run gets what the first check left of the job's limit
    assert limit - 60 < start["config"]["limits"]["timeout"] <= limit
