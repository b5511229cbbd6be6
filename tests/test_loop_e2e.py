"""The whole run over loopback: stand-in, real client, real tools, real git on a temporary repository."""
from __future__ import annotations

import subprocess

import pytest
from glm_agent.config.settings import Config
from glm_agent.testing import Fault, Reply
from helpers import call, dumps, finish, no_evidence_config, run_script


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def fix_script():
    return [
        Reply(reasoning="Look at the file first.", tool_calls=[("read_file", {"path": "calc.py"})]),
        Reply(reasoning="The sign is wrong.", content="Fixing the sign.",
              tool_calls=[("edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"})]),
        Reply(reasoning="Verify.", tool_calls=[("bash", {"command": "python3 -c 'import calc; print(calc.add(2, 3))'"})]),
        finish("add() now adds"),
    ]


@pytest.fixture
def calc_repo(repo):
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    git(repo, "add", "calc.py")
    git(repo, "commit", "-q", "-m", "calc")
    return repo


def test_finish_commits_on_a_work_branch_and_keeps_the_users_dirty_tree(calc_repo):
    (calc_repo / "README.md").write_text("hello\nmy unsaved notes\n")
    (calc_repo / "scratch.txt").write_text("untracked work\n")
    result, requests, events = run_script(calc_repo, fix_script(), task="Make add() add")
    assert (result.stop_reason, result.summary, result.steps) == ("finished", "add() now adds", 4)
    assert result.branch == "glm-agent/make-add-add" == git(calc_repo, "branch", "--show-current")
    assert result.files_changed == ["calc.py"] and result.commit == git(calc_repo, "rev-parse", "HEAD")
    assert git(calc_repo, "show", "--stat", "--format=%s", "HEAD").splitlines()[0] == "add() now adds"
    assert "calc.py" in git(calc_repo, "show", "--name-only", "--format=", "HEAD")
    assert (calc_repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert (calc_repo / "README.md").read_text() == "hello\nmy unsaved notes\n"
    assert (calc_repo / "scratch.txt").read_text() == "untracked work\n"
    assert git(calc_repo, "show", "HEAD:README.md") == "hello"  # the user's edit is not in the agent's commit
    assert ".glm-agent" not in git(calc_repo, "status", "--porcelain")
    assert events[0]["type"] == "start" and events[-1]["type"] == "stop"


def test_a_taken_work_branch_name_gets_the_next_free_number(calc_repo):
    for taken in ("glm-agent/make-add-add", "glm-agent/make-add-add-2"):
        git(calc_repo, "branch", taken)
    result, _, _ = run_script(calc_repo, fix_script(), task="Make add() add")
    assert result.branch == "glm-agent/make-add-add-3" == git(calc_repo, "branch", "--show-current")


def test_reasoning_is_sent_back_and_every_request_extends_the_previous(calc_repo):
    _, requests, _ = run_script(calc_repo, fix_script())
    assert requests[1]["messages"][2]["reasoning_content"] == "Look at the file first."
    assert requests[2]["messages"][4]["reasoning_content"] == "The sign is wrong."
    history = [[dumps(m) for m in r["messages"]] for r in requests]
    for before, after in zip(history, history[1:]):
        assert after[: len(before)] == before
    assert len({dumps({"tools": r["tools"]}) for r in requests}) == 1
    assert all(m["role"] != "user" for m in requests[-1]["messages"][2:])


def test_no_commit_leaves_the_change_uncommitted(calc_repo):
    head = git(calc_repo, "rev-parse", "HEAD")
    result, _, _ = run_script(calc_repo, fix_script(), config=Config(git={"commit": False}), branch=None)
    assert result.stop_reason == "finished" and result.commit is None
    assert git(calc_repo, "rev-parse", "HEAD") == head and git(calc_repo, "branch", "--show-current") == "main"
    assert "calc.py" in git(calc_repo, "status", "--porcelain")


def test_nudge_then_finish(calc_repo):
    result, requests, events = run_script(calc_repo, [Reply(content="All good, I think."), finish()],
                                          config=no_evidence_config())
    assert result.stop_reason == "finished"
    assert requests[1]["messages"][-1]["role"] == "user" and "finish" in requests[1]["messages"][-1]["content"]
    assert [e["type"] for e in events].count("nudge") == 1


def test_soft_landing_warning_rides_on_the_last_tool_result(calc_repo):
    script = [call("read_file", path="calc.py"), call("git_status"), call("glob", pattern="*.py"), finish()]
    result, requests, events = run_script(calc_repo, script, config=Config(limits={"max_steps": 3}))
    assert (result.stop_reason, result.limit, result.steps) == ("limit_reached", "max_steps", 3)
    last = requests[2]["messages"][-1]
    assert last["role"] == "tool" and "max_steps" in last["content"] and "finish" in last["content"]
    assert [e["limit"] for e in events if e["type"] == "warning"] == ["max_steps"]


@pytest.mark.parametrize("script,config,reason", [
    ([Reply(content="done"), Reply(content="really")], {}, "no_action"),
    ([call("read_file", path="calc.py")] * 3 + [finish()], {}, "stuck"),
    ([Reply(tool_calls=[("read_file", '{"path": "calc.py"')])] * 3 + [finish()], {}, "format_errors"),
    ([call("read_file", path="calc.py"), Fault.http(400, "1261"), Reply(content="Goal: fix calc"),
      Fault.http(400, "1261")], {}, "context_exhausted"),
    ([Reply(content="", finish_reason="model_context_window_exceeded")], {}, "context_exhausted"),
    ([Fault.http(429, "1113")], {}, "api_error"),
    ([call("read_file", path="calc.py"), Fault.http(401, "1002")], {}, "api_error"),
    ([call("read_file", path="calc.py", limit=5), call("read_file", path="calc.py", limit=6)],
     {"limits": {"max_cost_usd": 1e-9}}, "limit_reached"),
])
def test_every_stop_reason_over_the_wire_keeps_the_users_work(calc_repo, script, config, reason):
    (calc_repo / "README.md").write_text("dirty\n")
    result, _, events = run_script(calc_repo, script, config=Config(**config))
    assert result.stop_reason == reason, result.error
    assert result.commit is None
    assert events[-1]["type"] == "stop" and events[-1]["stop_reason"] == reason
    assert (calc_repo / "README.md").read_text() == "dirty\n"
    if reason in ("api_error", "context_exhausted"):
        assert result.error


def test_wall_clock_timeout_ends_a_slow_request_mid_step(calc_repo):
    import time

    from glm_agent.glm.client import GLMClient
    from glm_agent.jobs.run import Job, run_job
    from glm_agent.testing import StandIn

    started = time.monotonic()
    with StandIn([call("read_file", path="calc.py"), finish()], latency=3.0) as server:
        with GLMClient(server.base_url, "k" * 20, max_retries=0) as client:
            result = run_job(Job("Slow", calc_repo, Config(limits={"timeout": 0.5})), model=client)
    assert (result.stop_reason, result.limit) == ("limit_reached", "timeout")
    assert "middle of a step" in result.error and time.monotonic() - started < 3.0


def test_agents_md_from_the_root_down_to_the_working_folder_goes_into_the_task_prompt(calc_repo):
    (calc_repo / "AGENTS.md").write_text("Root rule: run pytest.\n")
    (calc_repo / "pkg" / "sub").mkdir(parents=True)
    (calc_repo / "pkg" / "AGENTS.md").write_text("Package rule: no floats.\n")
    (calc_repo / "other").mkdir()
    (calc_repo / "other" / "AGENTS.md").write_text("Unrelated rule.\n")
    _, requests, _ = run_script(calc_repo / "pkg" / "sub", [finish()], config=no_evidence_config())
    system, task = requests[0]["messages"]
    assert "Root rule" not in system["content"]  # the system prompt stays byte-stable across repos
    text = task["content"]
    assert text.index("Root rule: run pytest.") < text.index("Package rule: no floats.")
    assert "Unrelated rule" not in text and "working folder: pkg/sub" in text


def test_agents_md_is_capped(calc_repo):
    (calc_repo / "AGENTS.md").write_text("A" * 100 + "TAIL\n")
    (calc_repo / "pkg").mkdir()
    (calc_repo / "pkg" / "AGENTS.md").write_text("Package rule.\n")
    _, requests, _ = run_script(calc_repo / "pkg", [finish()], config=no_evidence_config(
        context={"agents_md_max_bytes": 60}))
    text = requests[0]["messages"][1]["content"]
    assert "A" * 60 in text and "A" * 61 not in text and "TAIL" not in text and "Package rule" not in text
    assert "truncated" in text


def test_system_prompt_and_tools_are_identical_across_runs(calc_repo, tmp_path):
    from helpers import git_init

    other = git_init(tmp_path / "other")
    _, first, _ = run_script(calc_repo, [finish()], task="one task", config=no_evidence_config())
    _, second, _ = run_script(other, [finish()], task="another task", config=no_evidence_config())
    assert first[0]["messages"][0] == second[0]["messages"][0]
    assert dumps({"t": first[0]["tools"]}) == dumps({"t": second[0]["tools"]})


def test_wall_clock_timeout_ends_a_long_command_and_its_process(calc_repo):
    import time
    import uuid

    marker = f"glm-agent-test-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    result, _, _ = run_script(calc_repo, [call("bash", command=f"sleep 30; echo {marker}"), finish()],
                              config=Config(limits={"timeout": 1}))
    assert (result.stop_reason, result.limit) == ("limit_reached", "timeout")
    assert time.monotonic() - started < 15
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert marker not in ps


def test_a_finish_gate_can_end_the_run_with_its_own_reason(calc_repo):
    from glm_agent.tools import EndRun

    attempts = []

    def gate(summary):
        attempts.append(summary)
        if len(attempts) == 1:
            return "the check still fails: try again"
        raise EndRun("check_failed", "the check still fails after 2 attempts")

    result, requests, events = run_script(calc_repo, [finish("first"), finish("second"), finish("never")],
                                          finish_gate=gate, config=no_evidence_config())
    assert (result.stop_reason, result.error, result.steps) == ("check_failed", "the check still fails after 2 attempts", 2)
    assert "still fails: try again" in requests[1]["messages"][-1]["content"]
    assert result.commit is None and events[-1]["stop_reason"] == "check_failed"


def test_soft_landing_commit_survives_the_limit_stop(calc_repo):
    (calc_repo / "README.md").write_text("hello\nuser notes\n")
    script = [call("write_file", path="part1.py", content="DONE = 1\n"), call("read_file", path="part1.py"),
              call("git_commit", message="Part 1 of the task", paths=["part1.py"]), finish()]
    result, requests, _ = run_script(calc_repo, script, config=Config(limits={"max_steps": 3}))
    assert "git_commit" in requests[2]["messages"][-1]["content"]  # the warning suggests saving the work
    assert (result.stop_reason, result.limit) == ("limit_reached", "max_steps")
    assert result.commit == git(calc_repo, "rev-parse", "HEAD")
    assert git(calc_repo, "log", "-1", "--format=%s") == "Part 1 of the task"
    assert git(calc_repo, "show", "--name-only", "--format=", "HEAD") == "part1.py"
    assert (calc_repo / "README.md").read_text() == "hello\nuser notes\n"
