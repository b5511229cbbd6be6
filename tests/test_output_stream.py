"""--output-format text|json|stream-json as a script sees it: the CLI in a subprocess against the stand-in."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from glm_agent.testing import Reply, StandIn
from helpers import (
    CHECK,
    FAKE_KEY,
    NO_EVIDENCE_ARGS,
    buggy_project,
    call,
    cli,
    doc_example,
    finish,
)


def script():
    return [Reply(content="Writing it.", reasoning="A one-line file.",
                  tool_calls=[("write_file", {"path": "hello.txt", "content": "hi\n"})]),
            call("read_file", path="missing.txt"),
            finish("wrote hello.txt")]


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_stream_json_is_one_event_per_line_with_the_result_last(repo):
    with StandIn(script()) as server:
        proc = cli("run", "Write hello.txt", "--repo", repo, "--base-url", server.base_url,
                   "--output-format", "stream-json")
    assert proc.returncode == 0, proc.stderr
    events = lines(proc.stdout)
    assert all(set(e) >= {"type", "v"} and e["v"] == 1 for e in events)
    types = [e["type"] for e in events]
    assert types[0] == "start" and types[-1] == "result" and types[-2] == "stop"
    assert types.count("step") == 3 and "request" not in types
    assert "".join(e["text"] for e in events if e["type"] == "thinking") == "A one-line file."
    assert "".join(e["text"] for e in events if e["type"] == "text" and e["step"] == 1) == "Writing it."
    calls = [(e["step"], e["name"]) for e in events if e["type"] == "tool_call"]
    assert calls == [(1, "write_file"), (2, "read_file"), (3, "finish")]
    failed = [e for e in events if e["type"] == "tool_result" and e["is_error"]]
    assert [e["name"] for e in failed] == ["read_file"]
    assert types.index("tool_call") < types.index("tool_result")  # in the order they happened
    result = events[-1]["result"]
    assert (result["stop_reason"], result["summary"], result["files_changed"]) == ("finished", "wrote hello.txt",
                                                                                  ["hello.txt"])
    assert Path(result["run_dir"], "result.json").is_file()
    assert json.loads(Path(result["run_dir"], "result.json").read_text()) == result
    assert "→" not in proc.stderr  # the human display only when asked


def test_the_last_line_is_the_object_json_prints(tmp_path):
    from helpers import git_init

    outs = {}
    for fmt in ("json", "stream-json"):
        repo = git_init(tmp_path / ("a" if fmt == "json" else "b"))  # paths of one length: the same prompts
        with StandIn(script()) as server:
            proc = cli("run", "Write hello.txt", "--repo", repo, "--base-url", server.base_url, "--output-format", fmt)
        assert proc.returncode == 0, proc.stderr
        outs[fmt] = json.loads(proc.stdout) if fmt == "json" else lines(proc.stdout)[-1]["result"]
    varying = {"run_dir", "commit"}
    assert set(outs["json"]) == set(outs["stream-json"])
    assert {k: v for k, v in outs["json"].items() if k not in varying} == \
           {k: v for k, v in outs["stream-json"].items() if k not in varying}


def test_progress_puts_the_human_display_on_stderr(repo):
    with StandIn(script()) as server:
        proc = cli("run", "Write hello.txt", "--repo", repo, "--base-url", server.base_url,
                   "--output-format", "stream-json", "--progress")
    assert proc.returncode == 0
    assert "→ write_file" in proc.stderr and "stop: finished" in proc.stderr
    assert all(json.loads(line) for line in proc.stdout.splitlines())
    with StandIn(script()) as server:
        proc = cli("run", "Write hello", "--repo", repo, "--base-url", server.base_url, "--json", "--progress",
                   "--branch", "again", *NO_EVIDENCE_ARGS)  # hello.txt already says hi: nothing changes
    assert json.loads(proc.stdout)["stop_reason"] == "finished" and "→ write_file" in proc.stderr


def test_json_with_another_format_is_a_usage_error(repo):
    proc = cli("run", "x", "--repo", repo, "--json", "--output-format", "stream-json")
    assert proc.returncode == 2 and "--json and --output-format stream-json" in proc.stderr
    assert proc.stdout == ""


def test_secret_values_are_scrubbed_from_the_stream(repo):
    secret = "deploy-token-9876543210"
    with StandIn([call("write_file", path="k.txt", content=f"key {FAKE_KEY} token {secret}\n"), finish()]) as server:
        proc = cli("run", "x", "--repo", repo, "--base-url", server.base_url, "--output-format", "stream-json",
                   "-c", 'tools.extra_env_remove=["DEPLOY_TOKEN"]', env={"DEPLOY_TOKEN": secret})
    assert proc.returncode == 0, proc.stderr
    assert FAKE_KEY not in proc.stdout and secret not in proc.stdout and "key *** token ***" in proc.stdout


@pytest.mark.slow
def test_fix_and_demo_stream_only_json_on_stdout(repo, tmp_path):
    buggy_project(repo)
    with StandIn([call("edit_file", path="calc.py", old_string="a - b", new_string="a + b"), finish("fixed")]) as server:
        proc = cli("fix", "--check", CHECK, "--repo", repo, "--base-url", server.base_url,
                   "--output-format", "stream-json")
    assert proc.returncode == 0, proc.stderr
    last = lines(proc.stdout)[-1]
    assert last["type"] == "result" and last["result"]["extra"]["check_after"]["exit_code"] == 0
    proc = cli("fix", "--check", CHECK, "--repo", repo, "--output-format", "stream-json")  # passes now
    assert proc.returncode == 0 and [e["type"] for e in lines(proc.stdout)] == ["result"]
    assert lines(proc.stdout)[0]["result"]["stop_reason"] == "nothing_to_fix"
    proc = cli("demo", "--output-format", "stream-json")
    assert proc.returncode == 0, proc.stderr
    events = lines(proc.stdout)
    assert events[-1]["result"]["stop_reason"] == "finished" and "demo repository" not in proc.stdout


def test_the_documented_consumer_runs(repo, tmp_path):
    consumer = tmp_path / "consume.py"
    consumer.write_text(doc_example("consume.py"))
    with StandIn(script()) as server:
        proc = cli("run", "Write hello.txt", "--repo", repo, "--base-url", server.base_url,
                   "--output-format", "stream-json")
    shown = subprocess.run([sys.executable, str(consumer)], input=proc.stdout, capture_output=True, text=True,
                           timeout=30)
    assert shown.returncode == 0, shown.stderr
    *shown_lines, last = shown.stdout.splitlines()
    assert shown_lines == ["step 1: write_file", "step 2: read_file", "  failed: Error: 'missing.txt' does not exist.",
                           "step 3: finish"]
    assert re.fullmatch(r"finished after 3 steps, \$\d+\.\d{4}", last)


def test_a_reader_that_goes_away_ends_the_stream_not_the_run(repo):
    env = {**{k: v for k, v in os.environ.items() if k != "ZAI_API_KEY"}, "ZAI_API_KEY": FAKE_KEY}
    with StandIn(script(), latency=0.2) as server:
        proc = subprocess.Popen([sys.executable, "-I", "-m", "glm_agent", "run", "Write hello.txt", "--repo", str(repo),
                                 "--base-url", server.base_url, "--output-format", "stream-json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        assert json.loads(proc.stdout.readline())["type"] == "start"
        proc.stdout.close()  # like `| head -n 1`
        _, err = proc.communicate(timeout=60)
    runs = list((repo / ".glm-agent" / "runs").iterdir())
    result = json.loads((runs[0] / "result.json").read_text())
    assert result["stop_reason"] == "finished" and (repo / "hello.txt").read_text() == "hi\n"
    assert "Traceback" not in err, err
    assert proc.returncode == 0, err
