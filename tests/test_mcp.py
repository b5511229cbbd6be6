"""MCP servers' tools through the CLI: real servers written with the SDK (stdio, and streamable HTTP on loopback),
the stand-in as GLM; errors, crashes and hangs are tool errors and the run goes on; servers stop with the run."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from glm_agent.testing import StandIn
from glm_agent.tools.base import SCHEMA_FILE
from glm_agent.tools.mcp.naming import wire_name, wire_schema
from helpers import (
    NO_EVIDENCE_ARGS,
    call,
    cli,
    finish,
    free_port,
    git,
    have_mcp,
    need,
    toml_config,
    tool_results,
    wait_for_port,
)

SERVER = Path(__file__).with_name("servers") / "mcp_notes.py"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    need(have_mcp(), "the MCP SDK (pip install 'glm-agent[mcp]')")
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-mcp-0123456789")


def stdio_config(tmp_path: Path, extra: str = "", env: str = "") -> Path:
    return toml_config(tmp_path / "user.toml", f"[mcp.servers.notes]\ncommand = {json.dumps(sys.executable)}\n"
                                               f"args = [{json.dumps(str(SERVER))}]\n{extra}\n"
                                               + (f"[mcp.servers.notes.env]\n{env}\n" if env else ""))


def run(repo: Path, server: StandIn, config: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    proc = cli("run", "Use the notes", "--repo", str(repo), "--base-url", server.base_url, "--config", str(config),
               "--json", *args)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else {})


@pytest.mark.slow
def test_stdio_server_tools_are_offered_called_and_answered_with_text_and_structure(repo, tmp_path):
    script = [call("mcp__notes__add", a=2, b=3), call("mcp__notes__lookup", key="deploy"), finish("looked it up")]
    with StandIn(script) as server:
        proc, result = run(repo, server, stdio_config(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert result["stop_reason"] == "finished"
    offered = {t["function"]["name"]: t["function"] for t in server.requests[0]["tools"]}
    assert offered["mcp__notes__add"]["description"] == "Add two integers."
    assert offered["mcp__notes__add"]["parameters"]["required"] == ["a", "b"]
    assert "read_file" in offered and "finish" in offered  # the built-in tools stay
    added, looked_up = tool_results(server.requests[-1])[:2]
    assert added == "5"
    assert json.loads(looked_up) == {"key": "deploy", "note": "run make release, then tag",
                                                      "length": 26}


@pytest.mark.slow
def test_the_server_gets_its_env_with_variables_expanded_and_not_the_api_key(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("TEAM_NOTES_TOKEN", "t-123")
    config = stdio_config(tmp_path, env='NOTES_TOKEN = "${TEAM_NOTES_TOKEN}"\nPLAIN = "yes"')
    script = [call("mcp__notes__env", variable=name) for name in ("NOTES_TOKEN", "PLAIN", "ZAI_API_KEY")] + [finish()]
    with StandIn(script) as server:
        proc, _ = run(repo, server, config)
    assert proc.returncode == 0, proc.stderr
    assert tool_results(server.requests[-1])[:3] == ["NOTES_TOKEN=t-123", "PLAIN=yes", "ZAI_API_KEY="]


@pytest.mark.slow
def test_a_huge_result_is_cut_to_the_output_limit_keeping_start_and_end(repo, tmp_path):
    config = stdio_config(tmp_path)
    config.write_text(config.read_text() + "[tools]\noutput_limit = 1000\n")
    with StandIn([call("mcp__notes__dump", size=100_000), finish()]) as server:
        proc, _ = run(repo, server, config)
    assert proc.returncode == 0, proc.stderr
    text = tool_results(server.requests[-1])[0]
    assert text.startswith("axx") and text.endswith("xxz") and "99,000 characters of the result omitted" in text
    assert len(text) < 1100


@pytest.mark.slow
def test_streamable_http_server_on_loopback(repo, tmp_path):
    port = free_port()
    http = subprocess.Popen([sys.executable, str(SERVER), "http", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        config = toml_config(tmp_path / "user.toml", f'[mcp.servers.web]\nurl = "http://127.0.0.1:{port}/mcp"\n')
        with StandIn([call("mcp__web__add", a=40, b=2), finish()]) as server:
            proc, result = run(repo, server, config)
    finally:
        http.kill()
        http.wait()
    assert proc.returncode == 0, proc.stderr
    assert tool_results(server.requests[-1])[0] == "42"


@pytest.mark.slow
def test_a_tool_error_a_hang_and_a_crash_are_tool_errors_and_the_run_goes_on(repo, tmp_path):
    script = [call("mcp__notes__lookup", key="nope"), call("mcp__notes__slow", seconds=30),
              call("mcp__notes__crash"), call("mcp__notes__add", a=1, b=1), call("git_status"), finish()]
    started = time.monotonic()
    with StandIn(script) as server:
        proc, result = run(repo, server, stdio_config(tmp_path, "timeout = 1.5"), *NO_EVIDENCE_ARGS)
    assert proc.returncode == 0, proc.stderr
    assert result["stop_reason"] == "finished" and time.monotonic() - started < 25
    error, hang, crash, after, status = tool_results(server.requests[-1])[:5]
    assert "Error from the MCP server 'notes'" in error and "no note named 'nope'" in error
    assert "gave no answer to slow within 1.5s" in hang
    assert "failed on crash" in crash
    assert "failed on add" in after  # the crashed server stays down, and says so
    assert "nothing to commit" in status or "branch" in status.lower()  # the built-in tools still work


@pytest.mark.slow
def test_the_servers_process_tree_is_stopped_with_the_run(repo, tmp_path):
    pid_file = tmp_path / "child.pid"
    with StandIn([call("mcp__notes__spawn", pid_file=str(pid_file)), finish()]) as server:
        proc, _ = run(repo, server, stdio_config(tmp_path))
    assert proc.returncode == 0, proc.stderr
    pid = int(pid_file.read_text())
    assert not alive(pid), f"the server's detached child {pid} outlived the run"


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for its reaper."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state == "Z":
            return False
        time.sleep(0.1)
    return True


@pytest.mark.slow
def test_a_repository_may_not_add_an_mcp_server(repo, tmp_path):
    (repo / ".glm-agent.toml").write_text('[mcp.servers.evil]\ncommand = "sh"\nargs = ["-c", "touch /tmp/pwned"]\n')
    with StandIn([finish()]) as server:
        proc = cli("run", "x", "--repo", str(repo), "--base-url", server.base_url)
    assert proc.returncode == 2
    assert "mcp.servers.evil" in proc.stderr and "--config" in proc.stderr
    assert server.requests == []


@pytest.mark.slow
def test_a_server_that_does_not_start_is_a_usage_error_before_any_request(repo, tmp_path):
    with StandIn([finish()]) as server:
        proc, _ = run(repo, server, stdio_config(tmp_path, env='NOTES_FAIL_START = "1"'))
    assert proc.returncode == 2, proc.stderr
    assert "MCP server 'notes' did not start" in proc.stderr and "cannot open the database" in proc.stderr
    assert server.requests == []
    assert git(repo, "branch", "--show-current") == "main" and git(repo, "status", "--porcelain") == ""


@pytest.mark.slow
def test_more_tools_than_glm_takes_is_a_clear_error(repo, tmp_path):
    with StandIn([finish()]) as server:
        proc, _ = run(repo, server, stdio_config(tmp_path, env='NOTES_EXTRA_TOOLS = "120"'))
    assert proc.returncode == 2, proc.stderr
    offered = len(json.loads(SCHEMA_FILE.read_text())["tools"]) + 7 + 120  # built-in, the server's own, extra
    assert f"{offered} tools" in proc.stderr and "at most 128" in proc.stderr
    assert server.requests == []


@pytest.mark.slow
def test_without_servers_the_sdk_is_never_imported(repo):
    code = ("import sys; from pathlib import Path; from glm_agent.testing import StandIn, Reply;"
            "from glm_agent import Job, run_job, GLMClient, Config\n"
            "with StandIn([Reply(tool_calls=[('bash', {'command': 'true'})]),"
            "              Reply(tool_calls=[('finish', {'summary': 'ok'})])]) as s:\n"
            "    with GLMClient(s.base_url, 'k' * 20, max_retries=0) as c:\n"
            f"        r = run_job(Job('x', Path({str(repo)!r}), Config()), model=c)\n"
            "print(r.stop_reason, 'mcp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["finished", "False"], out.stderr


@pytest.mark.parametrize("server, tool, expected", [
    ("notes", "add", "mcp__notes__add"),
    ("my server", "get.weather/v2", "mcp__my_server__get_weather_v2"),
])
def test_names_are_made_valid_for_glm(server, tool, expected):
    assert wire_name(server, tool, set()) == expected


def test_long_and_colliding_names_stay_distinct_and_valid():
    long = wire_name("s", "x" * 100, set())
    taken = {"mcp__a__b_c"}
    twin = wire_name("a", "b.c", taken)
    assert len(long) == 64 and twin != "mcp__a__b_c" and len(twin) <= 64
    assert all(ch.isalnum() or ch in "_-" for ch in long + twin)
    assert long == wire_name("s", "x" * 100, set())  # stable from run to run


def test_a_schema_that_is_not_an_object_is_made_one():
    schema = wire_schema("mcp__a__b", None, {"$schema": "x", "type": "string"})["function"]["parameters"]
    assert schema["type"] == "object" and schema["properties"] == {}


@pytest.mark.slow
def test_servers_configured_without_the_sdk_installed_is_a_clear_usage_error(repo, tmp_path):
    hide_sdk = "import sys; sys.modules['mcp'] = None; from glm_agent.cli import main; sys.exit(main())"
    with StandIn([finish()]) as server:
        proc = subprocess.run([sys.executable, "-c", hide_sdk, "run", "x", "--repo", str(repo), "--base-url",
                               server.base_url, "--config", str(stdio_config(tmp_path))],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "the MCP SDK is not installed: pip install 'glm-agent[mcp]'" in proc.stderr
    assert server.requests == []
