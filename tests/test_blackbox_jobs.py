"""fix and undo from the outside, as CI users run them: the real CLI as a subprocess, real git, the stand-in."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from glm_agent.testing import Fault, Reply, StandIn
from helpers import (
    CALC_BUG,
    CALC_FIXED,
    CHECK,
    TEST,
    buggy_project,
    call,
    git,
    tool_results,
)

RESULT_KEYS = {"stop_reason", "summary", "steps", "usage", "cost_usd", "files_changed", "commit", "branch",
               "run_dir", "error", "limit", "extra", "structured_output", "sandbox"}
EXTRA_KEYS = {"check_command", "check_before", "check_after", "attempts", "test_files_changed", "finish_refused"}


@pytest.fixture
def project(repo, monkeypatch) -> Path:
    """The buggy calculator, with the user's own uncommitted and untracked work in the tree."""
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-blackbox-0123456789")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    buggy_project(repo)
    (repo / "README.md").write_text("hello\nthe user's uncommitted edit\n")
    (repo / "wip.txt").write_text("the user's untracked work\n")
    return repo


def glm_agent(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", "-m", "glm_agent", *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def fix(repo: Path, server: StandIn, *args: str, **kwargs) -> tuple[subprocess.CompletedProcess, dict]:
    proc = glm_agent("fix", "--check", CHECK, "--repo", str(repo), "--base-url", server.base_url, "--json",
                     *args, **kwargs)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else {})


def user_state(repo: Path) -> tuple:
    return (git(repo, "branch", "--show-current"), git(repo, "rev-parse", "HEAD"),
            git(repo, "status", "--porcelain", "-uall"), (repo / "README.md").read_text(),
            (repo / "calc.py").read_text())


def claims_done_early(body: dict) -> Reply:
    """Claims success before doing anything, then fixes the code once the refusal says why."""
    step = len(tool_results(body))
    if step == 0:
        return call("finish", summary="All good.")
    if step == 1:
        return call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
    return call("finish", summary="add() subtracted; it now adds.")


def test_fix_refuses_a_false_done_then_commits_the_real_fix_and_undo_restores(project, tmp_path):
    before = user_state(project)
    summary_md = tmp_path / "not-yet" / "summary.md"  # its folder is created
    with StandIn(responder=claims_done_early) as server:
        proc, result = fix(project, server, "--summary-md", str(summary_md))
        refusal = tool_results(server.requests[1])[0]

    assert proc.returncode == 0, proc.stderr
    assert set(result) == RESULT_KEYS and set(result["extra"]) == EXTRA_KEYS
    assert refusal.startswith("finish refused") and "add(2, 3) returned -1, expected 5" in refusal
    extra = result["extra"]
    assert extra["attempts"] == 2 and extra["test_files_changed"] == [] and extra["finish_refused"] == {"check_failed": 1}
    assert extra["check_before"]["exit_code"] == 1 and extra["check_after"] == {**extra["check_after"], "exit_code": 0}
    assert result["branch"].startswith("glm-agent/fix-")
    assert git(project, "branch", "--show-current") == result["branch"]
    assert git(project, "show", "--name-only", "--format=", result["commit"]) == "calc.py"
    assert git(project, "show", f"{result['commit']}:calc.py") == CALC_FIXED.strip()
    # the user's own work came along, uncommitted
    assert git(project, "status", "--porcelain") == "M README.md\n?? wip.txt"
    md = summary_md.read_text()
    assert "check fixed" in md and "calc.py" in md and "returned -1" in md

    undone = glm_agent("undo", "--repo", str(project))
    assert undone.returncode == 0, undone.stderr
    assert user_state(project) == before
    again = glm_agent("undo", "--repo", str(project))
    assert again.returncode == 1 and "no glm-agent run to undo" in again.stderr
    assert user_state(project) == before


def wrong_fix(body: dict) -> Reply:
    if not tool_results(body):
        return call("edit_file", path="calc.py", old_string="a - b", new_string="a * b")
    return call("finish", summary="Fixed, I think.")


def test_fix_that_never_succeeds_exits_4_commits_nothing_and_undo_restores(project, tmp_path):
    before = user_state(project)
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n")
    with StandIn(responder=wrong_fix) as server:
        proc, result = fix(project, server, "--max-attempts", "2",
                           env={**os.environ, "GITHUB_STEP_SUMMARY": str(step_summary)})

    assert proc.returncode == 4, proc.stderr
    assert result["stop_reason"] == "check_failed" and result["commit"] is None
    assert result["extra"]["attempts"] == 2 and result["extra"]["check_after"]["exit_code"] == 1
    assert git(project, "rev-parse", "HEAD") == before[1]  # nothing committed anywhere
    assert "a * b" in (project / "calc.py").read_text()  # the failing attempt is left to inspect
    assert (project / "README.md").read_text() == before[3] and (project / "wip.txt").exists()
    md = step_summary.read_text()
    assert md.startswith("earlier step\n") and "check still failing" in md and "`check_failed`" in md

    assert glm_agent("undo", "--repo", str(project)).returncode == 0
    assert user_state(project) == before


def test_a_check_that_leaves_a_background_process_is_not_a_hang(project):
    (project / "calc.py").write_text(CALC_FIXED)
    with StandIn([]) as server:
        proc, result = fix(project, server, "--check-timeout", "20",
                           "--check", f"(sleep 60 &) ; {CHECK}")  # the later --check wins
    assert proc.returncode == 0, proc.stderr
    assert result["stop_reason"] == "nothing_to_fix" and not result["extra"]["check_before"]["timed_out"]


def test_the_check_runs_without_the_key_and_the_configured_secrets(project, monkeypatch):
    monkeypatch.setenv("DEPLOY_TOKEN", "t0ps3cret")
    with StandIn([]) as server:
        proc, result = fix(project, server, "--check", 'test -z "$ZAI_API_KEY$DEPLOY_TOKEN"',
                           "-c", "tools.extra_env_remove=['ZAI_API_KEY', 'DEPLOY_TOKEN']")
    assert proc.returncode == 0 and result["stop_reason"] == "nothing_to_fix", proc.stderr


@pytest.mark.slow
def test_a_hanging_check_is_killed_at_its_timeout_whole_process_group(project, tmp_path):
    pid_file = project / "check.pgid"  # inside the repository: the sandboxed check has a private /tmp
    with StandIn(responder=lambda body: call("finish", summary="done")) as server:
        proc, result = fix(project, server, "--check", f"ps -o pgid= -p $$ > {pid_file}; sleep 60; true",
                           "--check-timeout", "1", "--max-attempts", "1")
        prompt = server.requests[0]["messages"][1]["content"]
    assert proc.returncode == 4, proc.stderr
    extra = result["extra"]
    assert extra["check_before"]["timed_out"] and extra["check_after"]["timed_out"]
    assert "killed after its time limit" in prompt
    assert living_members(int(pid_file.read_text())) == []


def living_members(group: int) -> list[str]:
    """Processes of a process group that are not zombies (an init that reaps slowly keeps killed ones listed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(stat.parent.name)
    return found


@pytest.mark.parametrize("check, message", [
    ("no-such-command-xyz --verbose", "no-such-command-xyz: not found"),
    ("./not-executable.sh", "Permission denied"),
])
def test_a_check_that_cannot_run_is_a_usage_error_before_any_model_call(project, check, message):
    (project / "not-executable.sh").write_text("exit 0\n")
    with StandIn([]) as server:
        proc, result = fix(project, server, "--check", check)
        assert server.requests == []
    assert proc.returncode == 2 and result == {}
    assert "check command cannot be run" in proc.stderr and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fix_outside_a_repository_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-blackbox-0123456789")
    for folder in (tmp_path / "missing", tmp_path):
        proc = glm_agent("fix", "--check", "false", "--repo", str(folder), "--base-url", "http://127.0.0.1:9/x")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "not a directory" in proc.stderr or "not inside a git repository" in proc.stderr


def test_a_missing_key_stops_fix_before_the_check_runs(project, tmp_path, monkeypatch):
    monkeypatch.delenv("ZAI_API_KEY")
    marker = tmp_path / "check-ran"
    proc = glm_agent("fix", "--check", f"touch {marker}; false", "--repo", str(project), "--json")
    assert proc.returncode == 3 and "ZAI_API_KEY" in proc.stderr and proc.stdout == ""
    assert not marker.exists()


def test_summary_md_that_cannot_be_written_does_not_change_the_outcome(project, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with StandIn(responder=wrong_fix) as server:
        proc, result = fix(project, server, "--max-attempts", "1", "--summary-md", str(blocker / "summary.md"))
    assert proc.returncode == 4 and result["stop_reason"] == "check_failed"
    assert "could not write the Markdown summary" in proc.stderr and "Traceback" not in proc.stderr


def test_markdown_fence_survives_backticks_in_the_check_output():
    from glm_agent.core.result import RunResult
    from glm_agent.fix.check import CheckRun
    from glm_agent.fix.summary import markdown

    before = CheckRun("make", 1, 0.1, "```\n</details>\n# not a heading")
    text = markdown(RunResult(stop_reason="nothing_to_fix"), before, before, "")
    assert "````\n```\n</details>\n# not a heading\n````\n</details>" in text


def restores_then_fixes(body: dict) -> Reply:
    """Edits the test (refused), edits it through bash, claims done; restores it as told, then fixes the code."""
    results = tool_results(body)
    if len(results) == 3:  # finish was refused: put the test back with the command the refusal gives
        restore = re.search(r"`(git show .*):PATH > PATH`", results[-1]).group(1)
        return call("bash", command=f"{restore}:tests/test_calc.py > tests/test_calc.py")
    script = [call("edit_file", path="tests/test_calc.py", old_string="result == 5", new_string="result == -1"),
              call("bash", command="sed -i 's/result == 5/result == -1/' tests/test_calc.py"),
              call("finish", summary="The test passes now."),
              None,
              call("edit_file", path="calc.py", old_string="a - b", new_string="a + b"),
              call("finish", summary="Fixed add().")]
    return script[len(results)]


def test_protected_test_edits_are_refused_even_through_bash(project):
    with StandIn(responder=restores_then_fixes) as server:
        proc, result = fix(project, server)
        results = tool_results(server.requests[-1])
    assert proc.returncode == 0, proc.stderr
    assert "protected" in results[0]  # the edit tool refused
    assert results[2].startswith("finish refused: you changed protected files") and "tests/test_calc.py" in results[2]
    assert result["extra"]["attempts"] == 2 and result["extra"]["test_files_changed"] == []
    assert git(project, "show", "--name-only", "--format=", result["commit"]) == "calc.py"
    assert (project / "tests" / "test_calc.py").read_text() == TEST


def edits_the_test(body: dict) -> Reply:
    if not tool_results(body):
        return call("bash", command="sed -i 's/result == 5/result == -1/' tests/test_calc.py")
    return call("finish", summary="Adjusted the test.")


def test_allow_test_edits_accepts_and_lists_the_changed_test(project):
    with StandIn(responder=edits_the_test) as server:
        proc, result = fix(project, server, "--allow-test-edits")
    assert proc.returncode == 0, proc.stderr
    assert result["extra"]["test_files_changed"] == ["tests/test_calc.py"]
    assert git(project, "show", "--name-only", "--format=", result["commit"]) == "tests/test_calc.py"
    assert (project / "calc.py").read_text() == CALC_BUG


class Hang:
    """A model that never answers (until released at the end of the test)."""

    def __init__(self):
        self.release = threading.Event()

    def __call__(self, body: dict) -> Reply:
        self.release.wait(60)
        return Reply(content="too late")


@pytest.mark.slow
def test_timeout_bounds_the_whole_job_whatever_the_model_or_check_does(project, tmp_path):
    """Four CI jobs at once, each with -c limits.timeout=3: the job ends near 3 s, with a clear result."""
    hang = Hang()
    cases = {  # name: (responder, check, expected exit code, expected stop reason)
        "silent model": (hang, CHECK, 4, "limit_reached"),
        "rate limited forever": (lambda body: Fault.http(429, "1302"), CHECK, 4, "limit_reached"),
        "endless command": (lambda body: call("bash", command="sleep 60"), CHECK, 4, "limit_reached"),
        "hanging check": (lambda body: call("finish", summary="done"), "sleep 60", 4, "limit_reached"),
    }
    servers = {name: StandIn(responder=case[0]).start() for name, case in cases.items()}
    try:
        procs = {}
        started = time.monotonic()
        for name, (_, check, _, _) in cases.items():
            work = tmp_path / name.replace(" ", "-")
            subprocess.run(["git", "clone", "-q", str(project), str(work)], check=True)
            procs[name] = subprocess.Popen(
                [sys.executable, "-I", "-m", "glm_agent", "fix", "--check", check, "--repo", str(work), "--json",
                 "--base-url", servers[name].base_url, "-c", "limits.timeout=3"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outcomes = {name: (*proc.communicate(timeout=60), proc.returncode) for name, proc in procs.items()}
        elapsed = time.monotonic() - started
    finally:
        hang.release.set()
        for server in servers.values():
            server.stop()
    for name, (stdout, stderr, code) in outcomes.items():
        result = json.loads(stdout)
        assert (code, result["stop_reason"], result["limit"]) == (cases[name][2], cases[name][3], "timeout"), stderr
        if name == "rate limited forever":  # stopped early, as the next retry's wait would pass the time limit:
            after = result["extra"]["check_after"]  # the check reran in the time left (if any), still failing
            assert after is None or after["exit_code"] != 0
        else:
            assert result["extra"]["check_after"] is None  # no time was left to rerun it: not confirmed, exit 4
    assert elapsed < 30, f"four 3-second jobs took {elapsed:.0f}s"  # not a benchmark: only "never hangs"


@pytest.mark.slow
def test_rate_limited_forever_gives_up_after_bounded_retries_with_exit_3(project):
    with StandIn(responder=lambda body: Fault.http(429, "1302")) as server:
        proc, result = fix(project, server, "-c", "model.max_retries=2", timeout=60)
        calls = len(server.requests)
    assert proc.returncode == 3, proc.stderr
    assert result["stop_reason"] == "api_error" and "1302" in result["error"] and calls == 3
    assert result["commit"] is None and git(project, "status", "--porcelain") == "M README.md\n?? wip.txt"


def slow_worker(body: dict) -> Reply:
    step = len(tool_results(body))
    if step == 0:
        return call("write_file", path="NOTES.md", content="notes\n")
    if step == 1:
        return call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
    return call("bash", command="sleep 60")


def recorded_tool_call(repo: Path, text: str) -> bool:
    """The run's trajectory has a tool_call event containing `text` (the tool is being run)."""
    return any('"tool_call"' in line and text in line for path in repo.glob(".glm-agent/runs/*/trajectory.jsonl")
               for line in path.read_text().splitlines())


@pytest.mark.parametrize("command", [["run", "take notes"], ["fix", "--check", CHECK]])
def test_undo_after_an_interrupted_run(project, command):
    before = user_state(project)
    with StandIn(responder=slow_worker) as server:
        proc = subprocess.Popen([sys.executable, "-I", "-m", "glm_agent", *command, "--repo", str(project), "--json",
                                 "--base-url", server.base_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 60
        while not recorded_tool_call(project, "sleep 60"):
            assert time.monotonic() < deadline, "the run never started its long command"
            time.sleep(0.05)
        time.sleep(0.2)  # the command is running
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert json.loads(stdout)["stop_reason"] == "interrupted"
    assert (project / "NOTES.md").exists()

    undone = glm_agent("undo", "--repo", str(project))
    assert undone.returncode == 0, undone.stderr
    assert "Removed 1 file(s) the run had created: NOTES.md" in undone.stdout
    assert user_state(project) == before and not (project / "NOTES.md").exists()


def test_undo_never_loses_what_the_user_did_after_the_run(project):
    with StandIn(responder=claims_done_early) as server:
        proc, result = fix(project, server)
    assert proc.returncode == 0, proc.stderr
    (project / "calc.py").write_text(CALC_FIXED + "# the user's follow-up\n")
    (project / "later.txt").write_text("written after the run\n")

    refused = glm_agent("undo", "--repo", str(project))
    assert refused.returncode == 1 and "calc.py" in refused.stderr and "git restore --source=" in refused.stderr
    assert (project / "calc.py").read_text().endswith("# the user's follow-up\n")
    assert git(project, "branch", "--show-current") == result["branch"]

    (project / "calc.py").write_text(CALC_FIXED)  # the user drops the follow-up: undo may go ahead
    undone = glm_agent("undo", "--repo", str(project))
    assert undone.returncode == 0, undone.stderr
    assert (project / "calc.py").read_text() == CALC_BUG
    assert (project / "later.txt").read_text() == "written after the run\n"
    assert git(project, "branch", "--show-current") == "main"
