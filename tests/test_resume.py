"""`glm-agent run --resume RUN_ID ["FOLLOW-UP"]` and `--continue`: a stopped or finished run goes on from its record."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from glm_agent.cli.main import main
from glm_agent.jobs.resume import conversation
from glm_agent.testing import StandIn
from helpers import call, finish, git

WRITE_A, WRITE_B = call("write_file", path="a.txt", content="A\n"), call("write_file", path="b.txt", content="B\n")


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-resume-0123456789")


def run(capsys, repo: Path, script, *args: str) -> tuple[int, dict | None, list[dict], str]:
    """(exit code, --json result, the requests the stand-in got, stderr) of one `glm-agent run`."""
    with StandIn(script) as server:
        code = main(["run", *args, "--repo", str(repo), "--base-url", server.base_url, "--json"])
        requests = list(server.requests)
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out.strip() else None, requests, out.err


def stopped_run(capsys, repo: Path) -> tuple[dict, list[dict]]:
    """A run that wrote a.txt and b.txt and hit its 2-step budget (its changes uncommitted)."""
    code, result, requests, _ = run(capsys, repo, [WRITE_A, WRITE_B], "Write a, b and c", "--max-steps", "2")
    assert code == 1 and result["stop_reason"] == "limit_reached" and result["commit"] is None
    return result, requests


def test_a_run_stopped_at_its_limit_goes_on_with_its_conversation_branch_and_budget(repo, key, capsys):
    first, first_requests = stopped_run(capsys, repo)
    script = [call("write_file", path="c.txt", content="C\n"), finish("wrote a, b and c")]
    code, result, requests, _ = run(capsys, repo, script, "--resume", Path(first["run_dir"]).name,
                                    "Also write c.txt", "--max-steps", "5")

    assert code == 0 and result["stop_reason"] == "finished"
    before = first_requests[-1]["messages"]
    sent = requests[0]["messages"]
    assert json.dumps(sent[:len(before)]) == json.dumps(before)  # the conversation as it stood, byte for byte
    assert [m["role"] for m in sent[len(before):]] == ["assistant", "tool", "user"]
    assert "b.txt" in json.dumps(sent[len(before)]) and "Also write c.txt" in sent[-1]["content"]
    assert "limit_reached" in sent[-1]["content"]
    assert requests[0]["tools"] == first_requests[0]["tools"]  # same prefix: the prompt cache still holds
    assert result["steps"] == 4  # counted on from the first run's 2
    assert result["extra"]["resumed_from"] == Path(first["run_dir"]).name
    assert result["branch"] == first["branch"] == git(repo, "branch", "--show-current")
    assert git(repo, "show", "--name-only", "--format=", result["commit"]).split() == ["a.txt", "b.txt", "c.txt"]
    assert git(repo, "status", "--porcelain") == ""
    start = json.loads((Path(result["run_dir"]) / "trajectory.jsonl").read_text().splitlines()[0])
    assert start["resumed_from"] == Path(first["run_dir"]).name


def test_budgets_count_on_unless_raised(repo, key, capsys):
    stopped_run(capsys, repo)
    code, result, requests, err = run(capsys, repo, [finish()], "--continue")

    assert code == 1 and result["stop_reason"] == "limit_reached" and requests == []
    assert "max_steps limit reached: 2 of 2" in err


def test_continue_takes_the_last_run_and_a_finished_run_takes_a_follow_up(repo, key, capsys):
    code, first, _, _ = run(capsys, repo, [WRITE_A, finish("wrote a")], "Write a")
    assert code == 0 and first["commit"]
    script = [call("edit_file", path="a.txt", old_string="A", new_string="AA"), finish("a says AA")]
    code, result, requests, _ = run(capsys, repo, script, "--continue", "Make a.txt say AA")

    assert code == 0 and result["extra"]["resumed_from"] == Path(first["run_dir"]).name
    assert "was finished" in requests[0]["messages"][-1]["content"]
    assert git(repo, "log", "--format=%s", "-2").splitlines() == ["a says AA", "wrote a"]
    assert (repo / "a.txt").read_text() == "AA\n"


def test_a_finished_run_resumed_without_work_needs_no_new_evidence(repo, key, capsys):
    run(capsys, repo, [WRITE_A, finish("wrote a")], "Write a")
    code, result, requests, _ = run(capsys, repo, [finish("a.txt is written")], "--continue", "Is a.txt there?")
    assert code == 0 and len(requests) == 1 and "finish_refused" not in result["extra"]


def test_resume_refuses_another_branch_with_what_to_do(repo, key, capsys):
    first, _ = stopped_run(capsys, repo)
    git(repo, "stash", "-u")
    git(repo, "switch", "-q", "main")
    code, result, requests, err = run(capsys, repo, [finish()], "--resume", Path(first["run_dir"]).name)

    assert code == 2 and requests == [] and result is None
    assert f"worked on branch {first['branch']}" in err and f"git switch {first['branch']}" in err


def test_resume_refuses_when_the_runs_files_changed_since(repo, key, capsys):
    first, _ = stopped_run(capsys, repo)
    (repo / "b.txt").write_text("changed by the user\n")
    code, _, requests, err = run(capsys, repo, [finish()], "--resume", Path(first["run_dir"]).name)

    assert code == 2 and requests == []
    assert "files of run" in err and "b.txt" in err and "a.txt" not in err.split("since it stopped:")[1][:20]
    assert (repo / "b.txt").read_text() == "changed by the user\n"  # nothing of the user's is touched


@pytest.mark.parametrize("args,message", [(["--resume", "no-such-run"], "no run 'no-such-run'"),
                                          (["--continue"], "no run is recorded"),
                                          (["--resume", "x", "--check", "true"], "cannot be combined")])
def test_resume_refusals_are_usage_errors(repo, key, capsys, args, message):
    code, _, requests, err = run(capsys, repo, [finish()], *args)
    assert code == 2 and requests == [] and message in err


def test_a_run_without_a_task_or_resume_is_a_usage_error(repo, key, capsys):
    code, _, _, err = run(capsys, repo, [], )
    assert code == 2 and "a task is required" in err


def test_a_turn_cut_short_gets_its_missing_tool_results():
    calls = [{"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}},
             {"id": "c2", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]
    events = [{"type": "request", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]},
              {"type": "stop", "stop_reason": "interrupted", "pending_messages": [
                  {"role": "assistant", "content": "", "tool_calls": calls},
                  {"role": "tool", "tool_call_id": "c1", "content": "ran"}]}]
    messages = conversation(events)
    assert [(m["role"], m.get("tool_call_id")) for m in messages] == [
        ("system", None), ("user", None), ("assistant", None), ("tool", "c1"), ("tool", "c2")]
    assert "not run" in messages[-1]["content"]


def test_a_compacted_conversation_is_resumed_as_it_was_last_sent():
    """The record's own shapes: a shortening rewrites by index and drops old reasoning; a summary's request (it
    carries the tools) starts the conversation anew; what was never sent comes last."""
    events = [{"type": "request", "tools": [], "messages": [
                  {"role": "system", "content": "s"}, {"role": "user", "content": "task"},
                  {"role": "assistant", "content": "", "reasoning_content": "long thought"},
                  {"role": "tool", "tool_call_id": "1", "content": "x" * 50}]},
              {"type": "compaction", "stage": "shorten", "messages": {"3": "short"}, "reasoning_dropped_at": [2]},
              {"type": "request", "messages": [{"role": "user", "content": "u"}]},
              {"type": "stop", "pending_messages": []}]
    assert [m["content"] for m in conversation(events)] == ["s", "task", "", "short", "u"]
    assert "reasoning_content" not in conversation(events)[2]
    summary = {"type": "request", "tools": [], "messages": [{"role": "system", "content": "s"},
                                                            {"role": "user", "content": "task"},
                                                            {"role": "user", "content": "the summary"}]}
    later = events[:3] + [summary, {"type": "stop", "pending_messages": [{"role": "user", "content": "next"}]}]
    assert [m["content"] for m in conversation(later)] == ["s", "task", "the summary", "next"]


def test_undo_of_a_resumed_run_takes_back_the_whole_run(repo, key, capsys):
    first, _ = stopped_run(capsys, repo)
    script = [call("write_file", path="c.txt", content="C\n"), finish("wrote a, b and c")]
    code, result, _, _ = run(capsys, repo, script, "--continue", "--max-steps", "5")
    assert code == 0

    assert main(["undo", "--repo", str(repo)]) == 0
    assert not any((repo / name).exists() for name in ("a.txt", "b.txt", "c.txt"))
    assert git(repo, "branch", "--show-current") == "main" and git(repo, "status", "--porcelain") == ""
