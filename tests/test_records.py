"""Run records: trajectory.jsonl appended and flushed per event, new messages only, result.json, no secrets."""
from __future__ import annotations

import json
from pathlib import Path

from glm_agent.jobs.records import Recorder, new_run_id, read_events, slugify
from glm_agent.testing import Reply
from helpers import FAKE_KEY, call, finish, no_evidence_config, run_script


def test_request_events_hold_only_new_messages_and_rebuild_the_history(repo):
    script = [Reply(reasoning="r1", tool_calls=[("read_file", {"path": "README.md"})]), Reply(content="hmm"), finish()]
    result, requests, events = run_script(repo, script, config=no_evidence_config())
    sent = [e["messages"] for e in events if e["type"] == "request"]
    assert len(sent) == 3 and [m["role"] for m in sent[0]] == ["system", "user"]
    assert [m["role"] for m in sent[1]] == ["assistant", "tool"] and [m["role"] for m in sent[2]] == ["assistant", "user"]
    rebuilt = [m for batch in sent for m in batch]
    assert rebuilt == requests[-1]["messages"]
    assert "tools" in [e for e in events if e["type"] == "request"][0]


def test_events_cover_start_responses_tools_and_stop(repo):
    result, _, events = run_script(repo, [call("read_file", path="README.md"), finish("ok")],
                                   config=no_evidence_config(limits={"max_steps": 9}))
    kinds = [e["type"] for e in events]
    assert kinds == ["start", "request", "response", "tool_call", "tool_result",
                     "request", "response", "tool_call", "tool_result", "stop"]
    start = events[0]
    assert start["config"]["limits"]["max_steps"] == 9 and start["head"] and start["task"] == "Fix it"
    response = events[2]
    assert response["usage"]["prompt_tokens"] > 0 and response["latency_s"] >= 0 and response["request_id"]
    assert response["tool_calls"][0]["name"] == "read_file"
    assert events[4]["text"].rstrip().endswith("hello") and events[4]["is_error"] is False
    saved = json.loads((Path(result.run_dir) / "result.json").read_text())
    assert saved == result.to_dict()
    assert Path(result.run_dir).parent.parent == repo / ".glm-agent"


def test_each_event_is_on_disk_before_the_next_step(tmp_path):
    recorder = Recorder(tmp_path / "run")
    recorder({"type": "request", "messages": []})
    assert [e["type"] for e in read_events(tmp_path / "run")] == ["request"]  # flushed, file still open
    recorder({"type": "stop"})
    recorder.close()
    assert [e["type"] for e in read_events(tmp_path / "run")] == ["request", "stop"]


def test_a_torn_last_line_is_skipped_and_appending_keeps_earlier_lines(tmp_path):
    recorder = Recorder(tmp_path / "run")
    recorder({"type": "start"})
    recorder.close()
    with open(tmp_path / "run" / "trajectory.jsonl", "a") as handle:
        handle.write('{"type": "requ')
    assert [e["type"] for e in read_events(tmp_path / "run")] == ["start"]


def test_secret_values_are_redacted(tmp_path):
    recorder = Recorder(tmp_path / "run", redact=[FAKE_KEY, ""])
    recorder({"type": "tool_result", "text": f"ZAI_API_KEY={FAKE_KEY}"})
    recorder.write_result({"error": f"bad key {FAKE_KEY}"})
    recorder.close()
    for path in (tmp_path / "run").iterdir():
        assert FAKE_KEY not in path.read_text()
    assert "ZAI_API_KEY=***" in (tmp_path / "run" / "trajectory.jsonl").read_text()


def test_run_ids_and_slugs_are_ref_safe():
    assert slugify("Fix the failing test! (urgent)") == "fix-the-failing-test-urgent"
    assert slugify("???") == "task"
    run_id = new_run_id("Add a --version flag")
    assert "add-a-version-flag" in run_id and run_id == slugify(run_id, 200)
