"""The bash tool with real subprocesses: isolation, timeouts that kill the whole group, big and odd output."""
from __future__ import annotations

import json
import os
import time

import pytest
from glm_agent.tools import ToolSettings, build_toolset


def bash(toolset, command, **kwargs):
    return toolset.dispatch("bash", json.dumps({"command": command, **kwargs}))


@pytest.fixture
def tools(repo):
    return build_toolset(repo)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_runs_in_repo_root_with_exit_code(repo, tools):
    result = bash(tools, "pwd; echo out; echo err >&2; exit 3")
    assert result.is_error
    assert result.text.splitlines() == [str(repo), "out", "err", "[exit code 3]"]
    ok = bash(tools, "true")
    assert not ok.is_error and ok.text == "(no output)\n[exit code 0]"


def test_each_call_is_a_fresh_process(tools):
    bash(tools, "export FOO=bar; cd /tmp")
    assert bash(tools, 'echo "[$FOO]"; pwd').text.startswith("[]\n")


def test_environment_is_non_interactive_and_without_secrets(repo, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-secret-value")
    monkeypatch.setenv("MY_TOKEN", "also-secret")
    tools = build_toolset(repo, ToolSettings(extra_env_remove=["MY_TOKEN"]))  # adds to the built-in names
    text = bash(tools, "env").text
    assert "sk-secret-value" not in text and "also-secret" not in text
    for pair in ("PAGER=cat", "GIT_PAGER=cat", "TERM=dumb", "GIT_TERMINAL_PROMPT=0", "PYTHONDONTWRITEBYTECODE=1"):
        assert pair in text.splitlines()
    assert "ZAI_API_KEY" not in bash(build_toolset(repo), "env").text
    assert "ZAI_API_KEY" not in bash(build_toolset(repo, ToolSettings(extra_env_remove=[])), "env").text


def test_stdin_is_closed(tools):
    started = time.monotonic()
    result = bash(tools, "read line; echo \"got:[$line] rc=$?\"; cat", timeout=5)
    assert time.monotonic() - started < 4
    assert "got:[] rc=1" in result.text


def test_timeout_kills_background_child_too(repo, tools):
    started = time.monotonic()
    result = bash(tools, "sleep 30 & echo $! > child.pid; echo started; sleep 30", timeout=1)
    elapsed = time.monotonic() - started
    assert result.is_error and "timed out after 1s" in result.text and "killed" in result.text
    assert "started" in result.text
    assert elapsed < 4
    pid = int((repo / "child.pid").read_text())
    deadline = time.monotonic() + 2
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_background_child_holding_the_pipe_does_not_hang(repo, tools):
    started = time.monotonic()
    result = bash(tools, "sleep 30 & echo $! > child.pid; echo quick", timeout=10)
    assert time.monotonic() - started < 5
    assert "quick" in result.text and "[exit code 0]" in result.text and "background" in result.text
    pid = int((repo / "child.pid").read_text())
    time.sleep(0.2)
    assert not _alive(pid)


def test_redirected_background_process_is_left_running(repo, tools):
    result = bash(tools, "sleep 30 > /dev/null 2>&1 & echo $! > child.pid", timeout=5)
    assert not result.is_error and "background" not in result.text
    pid = int((repo / "child.pid").read_text())
    try:
        assert _alive(pid)
    finally:
        os.kill(pid, 9)


def test_timeout_is_capped_at_the_maximum(repo):
    tools = build_toolset(repo, ToolSettings(bash_timeout_default=1, bash_timeout_max=1))
    started = time.monotonic()
    result = bash(tools, "sleep 20", timeout=500)
    assert time.monotonic() - started < 4
    assert "capped at the maximum of 1s" in result.text and "timed out after 1s" in result.text


def test_default_timeout_comes_from_settings(repo):
    tools = build_toolset(repo, ToolSettings(bash_timeout_default=1))
    result = bash(tools, "sleep 20")
    assert "timed out after 1s" in result.text


def test_10mb_of_output_is_truncated_head_and_tail(tools):
    started = time.monotonic()
    result = bash(tools, "echo FIRST; head -c 10000000 /dev/zero | tr '\\0' 'x'; echo; echo LAST", timeout=30)
    assert time.monotonic() - started < 15
    assert result.text.startswith("FIRST\n")
    assert "LAST\n[exit code 0]" in result.text
    assert "bytes of output omitted" in result.text
    assert len(result.text) < 31_000


def test_invalid_utf8_ansi_and_progress_redraws_are_cleaned(tools):
    result = bash(tools, r"printf 'caf\xe9\n\033[31mred\033[0m\n10%%\r50%%\r100%%\n'")
    assert result.text.splitlines()[:3] == ["caf\ufffd", "red", "100%"]


def test_refused_command_is_not_run(repo, tools):
    result = bash(tools, "touch ran.txt && git reset --hard")
    assert result.is_error and "Refused" in result.text
    assert not (repo / "ran.txt").exists()


class _Deadline(BaseException):
    """Stands in for the run's deadline or Ctrl-C arriving while a command runs."""


def test_interruption_mid_command_kills_the_group(repo, tools):
    import signal

    def interrupt(signum, frame):
        raise _Deadline()

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    started = time.monotonic()
    try:
        with pytest.raises(_Deadline):
            bash(tools, "sleep 30 & echo $! > child.pid; sleep 30", timeout=20)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 3
    pid = int((repo / "child.pid").read_text())
    deadline = time.monotonic() + 2
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _bash_processes_of(tools) -> list[int]:
    """Processes carrying this toolset's marker (what close() kills), found the way a user would: /proc."""
    from glm_agent.tools.shell.procs import MARKER

    marker = bash(tools, f"echo ${MARKER}").text.splitlines()[0]
    needle = f"{MARKER}={marker}".encode()
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            if needle in open(f"/proc/{name}/environ", "rb").read().split(b"\0") and _alive(int(name)):
                found.append(int(name))
        except OSError:
            pass
    return found


def test_the_next_bash_waits_ready_and_close_leaves_no_process(tools):
    waiting = _bash_processes_of(tools)
    assert len(waiting) == 1  # started ahead for the next call
    assert bash(tools, "echo $$").text.splitlines()[0] == str(waiting[0])  # and that call used it
    tools.close()
    assert not any(_alive(pid) for pid in waiting)


def test_a_waiting_bash_killed_from_outside_is_replaced(tools):
    for pid in _bash_processes_of(tools):
        os.kill(pid, 9)
    time.sleep(0.1)
    result = bash(tools, "echo still works")
    assert result.text == "still works\n[exit code 0]"


def test_a_long_multiline_script_runs_whole(tools):
    script = "\n".join(f"echo line{i}" for i in range(20_000)) + "\nexit 4"  # ~250 KB, past one argument's limit
    result = bash(tools, script, timeout=60)
    assert result.is_error and result.text.endswith("line19999\n[exit code 4]")


def test_a_nul_character_is_refused_with_a_reason(tools):
    result = bash(tools, "echo a\0b")
    assert result.is_error and "NUL character" in result.text
