"""`glm-agent run TASK --check CMD`: fix's gate on any task; the check is carried in the result, exit codes as fix."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from glm_agent.cli.main import main
from glm_agent.testing import StandIn
from helpers import CALC_FIXED, CHECK, buggy_project, call, finish, git, tool_results

FIX = call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-run-check-0123456789")


def run(capsys, repo: Path, server: StandIn, task: str, *extra: str) -> tuple[int, dict]:
    code = main(["run", task, "--check", CHECK, "--repo", str(repo), "--base-url", server.base_url, "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_finish_is_accepted_once_the_check_passes(repo, key, capsys, tmp_path):
    buggy_project(repo)
    summary_md = tmp_path / "summary.md"
    script = [call("write_file", path="NOTES.md", content="notes\n"), finish("done, tests pass"), FIX,
              finish("add() adds now")]
    with StandIn(script) as server:
        code, result = run(capsys, repo, server, "Make add() add", "--summary-md", str(summary_md))
        requests = server.requests

    assert code == 0 and result["stop_reason"] == "finished"
    assert f"finish is accepted only once `{CHECK}` passes" in requests[0]["messages"][1]["content"]
    refusal = tool_results(requests[2])[1]
    assert refusal.startswith("finish refused: the check still fails") and "returned -1" in refusal
    extra = result["extra"]
    assert extra["check_command"] == CHECK and extra["attempts"] == 2
    assert extra["check_before"]["exit_code"] == 1 and extra["check_after"]["exit_code"] == 0
    assert extra["finish_refused"] == {"check_failed": 1}
    assert result["branch"] == "glm-agent/make-add-add"  # a run's branch, not a fix job's
    assert git(repo, "show", f"{result['commit']}:calc.py") == CALC_FIXED.strip()
    recorded = json.loads((Path(result["run_dir"]) / "result.json").read_text())
    assert recorded["extra"]["check_after"]["exit_code"] == 0
    assert "check fixed" in summary_md.read_text()


def test_the_check_still_failing_at_the_end_exits_4_without_a_commit(repo, key, capsys):
    buggy_project(repo)
    script = [call("bash", command="true"), finish("sure"), finish("sure")]
    with StandIn(script) as server:
        code, result = run(capsys, repo, server, "Make add() add", "--max-attempts", "2")

    assert code == 4 and result["stop_reason"] == "check_failed" and result["commit"] is None
    assert result["extra"]["check_after"]["exit_code"] == 1 and result["extra"]["attempts"] == 2


def test_a_passing_check_does_not_end_the_task_and_a_lazy_finish_is_still_refused(repo, key, capsys):
    (repo / "check.sh").write_text("exit 0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "check")
    script = [finish("done"), call("write_file", path="hello.txt", content="hi\n"), finish("wrote hello.txt")]
    with StandIn(script) as server:
        code = main(["run", "create hello.txt", "--check", "bash check.sh", "--repo", str(repo), "--base-url",
                     server.base_url, "--json"])
        result = json.loads(capsys.readouterr().out)
        requests = server.requests

    assert code == 0 and result["stop_reason"] == "finished" and (repo / "hello.txt").read_text() == "hi\n"
    assert tool_results(requests[1])[0].startswith("finish refused, once")  # evidence first, then the check
    assert result["extra"]["check_before"]["exit_code"] == 0 and result["extra"]["finish_refused"] == {
        "no_evidence": 1}


def test_tests_are_not_protected_unless_asked(repo, key, capsys):
    buggy_project(repo)
    weaken = call("edit_file", path="tests/test_calc.py", old_string="result == 5", new_string="result == -1")
    with StandIn([weaken, finish("the test expects -1 now")]) as server:
        code, result = run(capsys, repo, server, "Make the check pass")
    assert code == 0 and result["extra"]["test_files_changed"] == ["tests/test_calc.py"]

    git(repo, "switch", "-q", "main")
    with StandIn([weaken, FIX, finish("fixed")]) as server:
        code, result = run(capsys, repo, server, "Make the check pass again", "--protect", "tests/**")
        requests = server.requests
    assert "protected" in tool_results(requests[1])[0] and code == 0
    assert result["extra"]["test_files_changed"] == []


def test_a_check_that_cannot_run_is_a_usage_error(repo, key, capsys):
    with StandIn([finish()]) as server:
        code = main(["run", "anything", "--check", "no-such-command-xyz", "--repo", str(repo), "--base-url",
                     server.base_url, "--json"])
        assert server.requests == []
    assert code == 2 and "cannot be run" in capsys.readouterr().err


def test_the_human_output_ends_with_the_check_line(repo, key, capsys):
    buggy_project(repo)
    with StandIn([FIX, finish("fixed")]) as server:
        code = main(["run", "Make add() add", "--check", CHECK, "--repo", str(repo), "--base-url", server.base_url])
    out = capsys.readouterr().out
    assert code == 0 and "stop: finished" in out and out.rstrip().splitlines()[-1].startswith("check")
