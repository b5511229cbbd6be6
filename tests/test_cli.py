"""`glm-agent` as a user runs it: a real subprocess against the stand-in on loopback, exit codes and output."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from glm_agent.testing import Fault, Reply, StandIn
from helpers import FAKE_KEY, call, finish

RESULT_KEYS = {"stop_reason", "summary", "steps", "usage", "cost_usd", "files_changed", "commit", "branch", "run_dir"}


def glm_agent(*args, key=FAKE_KEY, **kwargs) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "ZAI_API_KEY"}
    if key:
        env["ZAI_API_KEY"] = key
    return subprocess.Popen([sys.executable, "-I", "-m", "glm_agent", *map(str, args)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, **kwargs)


def run_cli(*args, key=FAKE_KEY, timeout=60):
    proc = glm_agent(*args, key=key)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout.strip()


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def test_run_json_prints_only_the_result_and_exits_0(repo):
    with StandIn([call("write_file", path="hello.txt", content="hi\n"), finish("wrote hello.txt")]) as server:
        code, out, err = run_cli("run", "Write hello.txt", "--repo", repo, "--base-url", server.base_url, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert RESULT_KEYS <= set(result)
    assert (result["stop_reason"], result["summary"], result["steps"]) == ("finished", "wrote hello.txt", 2)
    assert result["files_changed"] == ["hello.txt"] and result["branch"] == "glm-agent/write-hello-txt"
    assert result["commit"] == git(repo, "rev-parse", "HEAD")
    assert set(result["usage"]) >= {"prompt_tokens", "completion_tokens", "cached_tokens", "total_tokens"}
    assert Path(result["run_dir"], "result.json").is_file()


def test_human_output_streams_calls_and_ends_with_a_summary(repo):
    script = [Reply(content="Reading first.", tool_calls=[("read_file", {"path": "README.md"})]), finish("read it"),
              finish("read it; a read-only task changes nothing")]
    with StandIn(script) as server:
        code, out, _ = run_cli("run", "Read the readme", "--repo", repo, "--base-url", server.base_url, "--no-branch")
    assert code == 0
    assert "Reading first." in out and "→ read_file" in out and "hello" in out
    assert "✗ finish refused, once" in out and "(finish refused: no_evidence)" in out
    assert "stop: finished" in out and "steps: 3" in out and "% cached" in out and "cost: $" in out
    assert git(repo, "branch", "--show-current") == "main"


def test_the_key_is_in_no_file_the_run_writes(repo):
    script = [call("bash", command="env | grep -c ZAI_API_KEY; echo done"), finish()]
    with StandIn(script) as server:
        code, _, err = run_cli("run", "Check env", "--repo", repo, "--base-url", server.base_url)
    assert code == 0, err
    written = files_under(repo / ".glm-agent")
    assert written and not [p for p in written if FAKE_KEY in p.read_text(errors="replace")]


@pytest.mark.parametrize("script,code,reason", [
    ([Reply(content="done"), Reply(content="done")], 1, "no_action"),
    ([Fault.http(429, "1113")], 3, "api_error"),
    ([Fault.http(401, "1002")], 3, "api_error"),
])
def test_exit_codes_follow_the_stop_reason(repo, script, code, reason):
    with StandIn(script) as server:
        got, out, _ = run_cli("run", "Do it", "--repo", repo, "--base-url", server.base_url, "--json")
    assert (got, json.loads(out)["stop_reason"]) == (code, reason)


def test_max_steps_flag_beats_config_and_stops_with_exit_1(repo):
    (repo / ".glm-agent.toml").write_text("[limits]\nmax_steps = 50\n")
    script = [call("read_file", path="README.md"), call("git_status"), finish()]
    with StandIn(script) as server:
        code, out, _ = run_cli("run", "Look", "--repo", repo, "--base-url", server.base_url, "--json", "--max-steps", "2")
    result = json.loads(out)
    assert (code, result["stop_reason"], result["limit"], result["steps"]) == (1, "limit_reached", "max_steps", 2)


def test_missing_key_is_an_api_error_before_anything_changes(repo):
    code, out, err = run_cli("run", "Do it", "--repo", repo, "--base-url", "http://127.0.0.1:9/v4", key=None)
    assert code == 3 and out == ""
    assert "ZAI_API_KEY" in err
    assert git(repo, "branch", "--list") == "* main" and not (repo / ".glm-agent").exists()


@pytest.mark.parametrize("extra,needle", [
    (["-c", "limits.max_steps=zero"], "limits.max_steps"),
    (["-c", "model.api_key=abc123456"], "environment only"),
    (["--branch", "main"], "already exists"),
])
def test_usage_and_config_errors_exit_2(repo, extra, needle):
    code, out, err = run_cli("run", "Do it", "--repo", repo, "--base-url", "http://127.0.0.1:9/v4", *extra)
    assert code == 2 and needle in err and out == ""


def test_not_a_git_repository_exits_2(tmp_path):
    code, _, err = run_cli("run", "Do it", "--repo", tmp_path, "--base-url", "http://127.0.0.1:9/v4")
    assert code == 2 and "git" in err


def test_help_lists_the_commands():
    code, out, _ = run_cli("--help")
    assert code == 0 and all(name in out for name in ("run", "demo", "replay"))


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow
@pytest.mark.parametrize("inherited", [None, _ignore_sigint], ids=["sigint-default", "sigint-ignored-by-launcher"])
def test_sigint_stops_cleanly_with_exit_130_and_a_complete_record(repo, inherited):
    """Also when launched in the background by a non-interactive shell, which leaves SIGINT ignored."""
    (repo / "README.md").write_text("hello\nuser edit in progress\n")
    script = [call("write_file", path="new.txt", content="x\n"), call("read_file", path="new.txt"), finish()]
    with StandIn(script, latency=2.0) as server:
        proc = glm_agent("run", "Slow task", "--repo", repo, "--base-url", server.base_url, "--json",
                         preexec_fn=inherited)
        trajectory = _wait_for_event(repo, '"type": "request"', count=2)  # waiting on the model
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert json.loads(out)["stop_reason"] == "interrupted"
    events = [json.loads(line) for line in trajectory.read_text().splitlines()]
    assert events[-1]["type"] == "stop" and events[-1]["stop_reason"] == "interrupted"
    assert (trajectory.parent / "result.json").is_file()
    assert (repo / "README.md").read_text() == "hello\nuser edit in progress\n"
    assert (repo / "new.txt").read_text() == "x\n"
    leftovers = [p.name for p in repo.rglob("*") if ".git" not in p.parts and p.name not in ("README.md", "new.txt")
                 and ".glm-agent" not in p.parts]
    assert leftovers == []
    assert not [p for p in files_under(repo / ".glm-agent") if FAKE_KEY in p.read_text(errors="replace")]


def test_sigint_during_a_long_command_kills_it_and_exits_130(repo):
    marker = f"glm-agent-sigint-{os.getpid()}"
    with StandIn([call("bash", command=f"sleep 60; echo {marker}"), finish()]) as server:
        proc = glm_agent("run", "Wait", "--repo", repo, "--base-url", server.base_url, "--json")
        trajectory = _wait_for_event(repo, '"type": "tool_call"')
        time.sleep(0.3)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.monotonic() - started < 10, err
    assert json.loads(out)["stop_reason"] == "interrupted"
    assert json.loads(trajectory.read_text().splitlines()[-1])["stop_reason"] == "interrupted"
    assert marker not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def _wait_for_event(repo: Path, needle: str, count: int = 1, timeout: float = 30) -> Path:
    """The trajectory once `needle` (an event type) is recorded `count` times."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (repo / ".glm-agent" / "runs").glob("*/trajectory.jsonl"):
            if path.read_text().count(needle) >= count:
                return path
        time.sleep(0.05)
    raise AssertionError(f"the run never recorded {needle}")
