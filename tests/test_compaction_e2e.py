"""Long runs end to end over loopback: the real job, client and tools against a stand-in that enforces a context
window (400 / 1261 beyond it) and answers compaction's summary requests; the record, replay and the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from glm_agent.config.settings import Config
from glm_agent.core.compaction import SUMMARY_MARKER, is_summary_request
from glm_agent.glm.client import GLMClient
from glm_agent.glm.errors import ContextTooLongError
from glm_agent.jobs.records import read_events
from glm_agent.jobs.replay import replay
from glm_agent.jobs.resume import conversation
from glm_agent.jobs.run import Job, run_job
from glm_agent.testing import Reply, StandIn
from glm_agent.testing.responders import summarizing
from helpers import FAKE_KEY, call, finish, git

TASK = "Run the check scripts one by one and note which fail."
WINDOW = 24_000  # tokens (chars/4): a 2 KB result is ~500 of them, so ~40 steps fill it
CONTEXT = {"window": WINDOW, "keep_recent_tokens": 3_000}


@pytest.fixture
def long_repo(repo):
    (repo / "AGENTS.md").write_text("Never edit files under checks/.\n")
    (repo / "blob.txt").write_text(("check output line ...........................\n" * 60)[:2048])
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "checks")
    return repo


def steps(n: int) -> list[Reply]:
    """Write a file, then n bash commands printing ~2 KB (the 5th fails), then finish."""
    out = [call("write_file", path="report.md", content="# Report\n")]
    for i in range(2, n):
        fail = "; echo 'FAILED checks/test_5.py - assert 1 == 2'; exit 1" if i == 5 else ""
        out.append(call("bash", command=f"echo check {i}; cat blob.txt{fail}"))
    return out + [finish("ran the checks")]


def long_run(repo: Path, n: int, *, window: int = WINDOW, context: dict | None = None):
    """(result, the bodies the stand-in answered, its usages, its 1261 count, the events)."""
    answered = []
    responder = summarizing(steps(n))

    def recording(body):
        answered.append(body)
        return responder(body)

    config = Config(context=context or CONTEXT, limits={"max_steps": n + 5})
    with StandIn(responder=recording, context_window=window) as server:
        with GLMClient(server.base_url, FAKE_KEY, max_retries=0) as client:
            result = run_job(Job(TASK, repo, config), model=client)
        usages, refused = list(server.usages), server.ledger.refused
    return result, answered, usages, refused, list(read_events(Path(result.run_dir)))


def test_a_long_run_compacts_keeps_the_task_verbatim_and_the_cache_recovers(long_repo):
    result, answered, usages, refused, events = long_run(long_repo, 90)
    assert result.stop_reason == "finished", result.error
    assert refused == 0 and max(u["prompt_tokens"] for u in usages) <= WINDOW
    summaries = [i for i, body in enumerate(answered) if is_summary_request(body["messages"])]
    assert summaries, "the run never compacted"
    task_message = answered[0]["messages"][1]["content"]
    assert TASK in task_message and "Never edit files under checks/." in task_message  # AGENTS.md rules in it
    share = [u["prompt_tokens_details"]["cached_tokens"] / u["prompt_tokens"] for u in usages]
    for start, end in zip(summaries, summaries[1:] + [len(answered)]):
        assert all(answered[i]["messages"][1]["content"] == task_message for i in range(start + 1, end))
    # from the second request after a compaction (either stage) on, the cached share is back above 90%
    step_share = [s for s, body in zip(share, answered) if not is_summary_request(body["messages"])]
    marks, pending = [], False
    for event in events:
        if event["type"] in ("compaction", "request"):
            marks, pending = (marks + [pending], False) if event["type"] == "request" else (marks, True)
    assert len(marks) == len(step_share)
    since, checked = None, 0
    for mark, value in zip(marks, step_share):
        since = 0 if mark else None if since is None else since + 1
        if since is not None and since >= 1:
            assert value > 0.9, (since, value)
            checked += 1
    assert checked > 20
    record = [e for e in events if e["type"] == "compaction" and e["stage"] == "summary"]
    assert len(record) == len(summaries) and all(e["summary"].startswith("Goal:") for e in record)
    saved = json.loads((Path(result.run_dir) / "result.json").read_text())
    assert saved["extra"]["context"]["summaries"] == len(summaries)
    rebuilt = answered[summaries[0] + 1]["messages"]
    assert "report.md" in rebuilt[2]["content"] and "1 insertion" in rebuilt[2]["content"]  # the diff stat
    assert "FAILED checks/test_5.py" in rebuilt[2]["content"]


def test_the_record_rebuilds_every_request_sent_compactions_included(long_repo):
    _, answered, _, _, events = long_run(long_repo, 60)
    sent = [body["messages"] for body in answered if not is_summary_request(body["messages"])]
    requests = [i for i, event in enumerate(events) if event["type"] == "request"]
    # the record read as docs/cli.md says (and --resume reads it): the conversation as each request sent it
    rebuilt = [conversation(events[:i + 1]) for i in requests]
    assert sum("tools" in e for e in events if e["type"] == "request") >= 2  # the first, and after a summary
    assert any(e["type"] == "compaction" and e["stage"] == "shorten" for e in events)
    assert rebuilt == sent


def test_a_1261_from_the_server_compacts_and_the_retry_goes_through(long_repo):
    # glm-agent believes the window is 10x larger: only the server's 1261 tells it
    result, answered, _, refused, events = long_run(long_repo, 70, context={"window": WINDOW * 10,
                                                                           "keep_recent_tokens": 3_000})
    assert result.stop_reason == "finished", result.error
    assert refused >= 1
    reasons = [e["reason"] for e in events if e["type"] == "compaction" and e["stage"] == "summary"]
    assert reasons and set(reasons) == {"context_too_long"}


def test_a_vllm_style_refusal_compacts_and_retries_too(long_repo):
    answered = []
    responder = summarizing(steps(50))
    config = Config(model={"dialect": "openai"}, context={"window": WINDOW * 10, "keep_recent_tokens": 3_000},
                    limits={"max_steps": 60})
    with StandIn(responder=lambda body: answered.append(body) or responder(body), context_window=WINDOW) as server:
        with GLMClient(server.url_for("/v1"), FAKE_KEY, max_retries=0, dialect="openai") as client:
            result = run_job(Job(TASK, long_repo, config), model=client)
        refused = server.ledger.refused
    assert result.stop_reason == "finished", result.error
    assert refused >= 1 and result.extra["context"]["summaries"] >= 1


def test_a_window_exceeded_finish_reason_compacts_and_retries(long_repo):
    script = steps(8)
    script.insert(4, Reply(content="", finish_reason="model_context_window_exceeded",
                           usage={"prompt_tokens": 0, "completion_tokens": 0}))
    with StandIn(responder=summarizing(script)) as server:
        with GLMClient(server.base_url, FAKE_KEY, max_retries=0) as client:
            result = run_job(Job(TASK, long_repo, Config()), model=client)
    events = list(read_events(Path(result.run_dir)))
    assert result.stop_reason == "finished", result.error
    assert [e["reason"] for e in events if e["type"] == "compaction"][-1] == "context_too_long"
    assert result.steps == 8


def test_a_run_with_compactions_replays_without_differences(long_repo):
    result, _, _, _, _ = long_run(long_repo, 60)
    outcome = replay(result.run_dir)
    assert outcome["differences"] == [] and outcome["matched"] == outcome["tool_calls"] == 60
    assert outcome["recorded_stop"] == outcome["replayed_stop"] == "finished"


def test_a_run_compacted_after_a_1261_replays_without_differences(long_repo):
    result, _, _, _, _ = long_run(long_repo, 60, context={"window": WINDOW * 10, "keep_recent_tokens": 3_000})
    outcome = replay(result.run_dir)
    assert outcome["differences"] == [] and outcome["replayed_stop"] == "finished"


def test_the_standin_refuses_a_prompt_over_its_window_like_glm_and_keeps_its_script():
    big = {"model": "glm-4.6", "messages": [{"role": "user", "content": "x" * 4000}]}
    with StandIn([Reply(content="ok")], context_window=500) as server:
        response = httpx.post(server.base_url + "/chat/completions", json=big,
                              headers={"Authorization": "Bearer k"})
        assert response.status_code == 400
        assert response.json() == {"error": {"code": "1261", "message": "Prompt exceeds max length"}}
        assert server.remaining == 1 and server.ledger.refused == 1  # refused before generation
        with GLMClient(server.base_url, FAKE_KEY, max_retries=0) as client:
            with pytest.raises(ContextTooLongError):
                client.complete(big["messages"])
            assert client.complete([{"role": "user", "content": "short"}]).content == "ok"


def test_the_openai_flavour_refuses_like_vllm_and_the_client_reads_it_as_too_long():
    with StandIn([], context_window=100) as server:
        with GLMClient(server.url_for("/v1"), FAKE_KEY, max_retries=0, dialect="openai") as client:
            with pytest.raises(ContextTooLongError, match="maximum context length is 100 tokens"):
                client.complete([{"role": "user", "content": "y" * 1000}])


def test_the_summarizing_responder_answers_summary_requests_and_passes_the_rest():
    responder = summarizing([Reply(content="step")], summary="Goal: g")
    ask = {"messages": [{"role": "user", "content": "t"}, {"role": "user", "content": SUMMARY_MARKER + "\n..."}]}
    assert responder(ask).content == "Goal: g"
    assert responder({"messages": [{"role": "user", "content": "t"}]}).content == "step"
    assert responder.summaries == 1
    with pytest.raises(LookupError):
        responder({"messages": [{"role": "user", "content": "t"}]})


def test_the_cli_runs_a_long_task_through_compaction(long_repo, tmp_path):
    script = tmp_path / "script.json"
    items = [{"tool_calls": [{"name": r.tool_calls[0][0], "arguments": r.tool_calls[0][1]}]} for r in steps(60)]
    script.write_text(json.dumps(items))
    server = subprocess.Popen([sys.executable, "-m", "glm_agent.testing", "--script", str(script), "--summaries",
                               "--context-window", str(WINDOW)], stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()
        env = {**os.environ, "ZAI_API_KEY": FAKE_KEY}
        proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "run", TASK, "--repo", str(long_repo),
                               "--base-url", base_url, "--json", "--max-steps", "80",
                               "-c", f"context.window={WINDOW}", "-c", "context.keep_recent_tokens=3000"],
                              env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["stop_reason"] == "finished" and result["extra"]["context"]["summaries"] >= 1
