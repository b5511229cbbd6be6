"""Compaction in the loop, with real tools on a temp git repo and in-process models: the shortening stage (head and
tail kept, counted), the summary stage (the rebuilt conversation keeps the task verbatim and a valid wire shape),
the 1261 retry, and the stop after too many compactions in a row."""
from __future__ import annotations

import json

import pytest
from glm_agent.config.sections import SectionError
from glm_agent.config.settings import Config
from glm_agent.core.compaction import SUMMARY_MARKER, is_summary_request
from glm_agent.core.loop import Agent
from glm_agent.core.turn import Usage
from glm_agent.glm.errors import ContextTooLongError
from glm_agent.testing.models import FunctionModel, make_turn
from glm_agent.tools import build_toolset
from helpers import git_init

TASK = "Keep running the checks until they are all done, then finish. (AGENTS.md: run pytest -q)"
SUMMARY = "Goal: run the checks.\nDone: many checks.\nLearned: they pass.\nLeft: finish.\nFiles touched: notes.txt."


def output(step: int, size: int = 2000) -> str:
    """A command printing `size` characters: a head line, filler, and a tail line a test failure would be."""
    filler = "x" * (size - 60)
    return f"printf 'HEAD {step:04d}\\n{filler}\\nTAIL {step:04d} FAILED test_{step}\\n'"


class LongRun:
    """A model that runs `steps` bash commands (one failing at `fail_at`), writes one file, then finishes;
    it answers summary requests with `summary`. Records every request it gets."""

    def __init__(self, steps: int, *, summary: str = SUMMARY, fail_at: int = 2, reasoning: str = "",
                 prompt_tokens=None):
        self.steps, self.summary, self.fail_at, self.reasoning = steps, summary, fail_at, reasoning
        self.prompt_tokens = prompt_tokens  # messages -> reported prompt tokens (default: chars/4)
        self.done = 0
        self.model = FunctionModel(self.answer)

    def answer(self, messages, tools):
        usage_tokens = self.prompt_tokens(messages) if self.prompt_tokens else len(json.dumps(messages)) // 4
        usage = Usage(usage_tokens, 10, 0, usage_tokens + 10)
        if is_summary_request(messages):
            if self.summary is None:  # a model that acts instead of summarizing
                return make_turn(calls=[("bash", {"command": "touch ACTED"})], usage=usage)
            return make_turn(self.summary, usage=usage)
        self.done += 1
        if self.done == 1:
            call = ("write_file", {"path": "notes.txt", "content": "started\n"})
        elif self.done > self.steps:
            call = ("finish", {"summary": "all checks run"})
        elif self.done == self.fail_at:
            call = ("bash", {"command": output(self.done) + "; echo 'E   assert 1 == 2'; exit 1"})
        else:
            call = ("bash", {"command": output(self.done)})
        return make_turn(reasoning=self.reasoning or None, calls=[call], usage=usage)


def run(repo, long_run, **context):
    events = []
    agent = Agent(long_run.model, build_toolset(repo), Config(context=context), on_event=events.append)
    result = agent.run(TASK)
    return result, long_run.model.requests, events


@pytest.fixture
def repo(tmp_path):
    return git_init(tmp_path / "repo")


def compactions(events, stage):
    return [e for e in events if e["type"] == "compaction" and e["stage"] == stage]


def assert_wire_shape(messages):
    """Every tool result right after the assistant call that asked for it; a user message only after a turn
    without calls or after another user message; the system prompt first."""
    assert messages[0]["role"] == "system" and messages[1]["role"] == "user"
    pending = set()
    for previous, message in zip(messages, messages[1:]):
        if message["role"] == "tool":
            assert message["tool_call_id"] in pending
            pending.discard(message["tool_call_id"])
        else:
            assert not pending, f"a {message['role']} message before every call was answered"
        if message["role"] == "assistant":
            pending = {c["id"] for c in message.get("tool_calls") or []}
        if message["role"] == "user":
            assert previous["role"] in ("system", "user") or not previous.get("tool_calls")


def test_old_results_keep_head_and_tail_and_old_reasoning_is_dropped_counted(repo):
    long_run = LongRun(12, reasoning="thinking " * 50)
    result, requests, events = run(repo, long_run, window=12_000, shorten_at=0.5, summarize_at=0.95,
                                   exhausted_at=0.99, keep_recent_steps=2, keep_chars=300)
    assert result.stop_reason == "finished", result.error
    shortened = compactions(events, "shorten")
    assert shortened and not compactions(events, "summary")
    first = shortened[0]
    assert first["results_shortened"] > 0 and first["reasoning_dropped"] > 0 and first["chars_cut"] > 0
    assert first["prompt_tokens_after"] < first["prompt_tokens_before"]
    last = requests[-1]["messages"]
    old = [m["content"] for m in last[:-6] if m["role"] == "tool" and "HEAD" in m["content"]]
    assert old and all("chars cut by glm-agent" in text for text in old)
    # the head and the tail survive: a test failure and the exit code at the end of the output are still there
    assert all(text.startswith("HEAD") and "FAILED test_" in text.splitlines()[-3:][0] + text.splitlines()[-2]
               for text in old)
    assert all(text.endswith(("[exit code 0]", "[exit code 1]")) for text in old)
    assert all("reasoning_content" not in m for m in last[:-6] if m["role"] == "assistant")
    recent = [m for m in last[-4:] if m["role"] == "tool"]
    assert recent and all("chars cut" not in m["content"] for m in recent)
    assert result.extra["context"]["shortenings"] == len(shortened)


def test_a_summary_rebuilds_the_conversation_around_the_task_verbatim(repo):
    long_run = LongRun(40)
    result, requests, events = run(repo, long_run, window=12_000, keep_recent_tokens=2_000, keep_chars=600)
    assert result.stop_reason == "finished", result.error
    summaries = compactions(events, "summary")
    assert summaries and summaries[0]["summary"] == SUMMARY and summaries[0]["reason"] == "threshold"
    asks = [i for i, r in enumerate(requests) if is_summary_request(r["messages"])]
    assert len(asks) == len(summaries)
    ask = requests[asks[0]]
    assert ask["tools"] == requests[0]["tools"]  # the same tool list: the prefix cache serves it
    assert ask["messages"][-1]["content"].startswith(SUMMARY_MARKER)
    after = requests[asks[0] + 1]["messages"]
    assert after[:2] == requests[0]["messages"][:2] and after[1]["content"] == TASK
    context = after[2]["content"]
    assert after[2]["role"] == "user" and SUMMARY in context and "notes.txt" in context
    assert "The last failing command (step 2)" in context and "E   assert 1 == 2" in context
    assert "[exit code 1]" in context
    assert_wire_shape(after)
    kept = summaries[0]["kept_steps"]
    assert kept >= 1 and sum(m["role"] == "assistant" for m in after) == kept
    for request in requests[asks[0] + 1:]:  # every request after it: the task verbatim
        if not is_summary_request(request["messages"]):
            assert request["messages"][1]["content"] == TASK
            assert_wire_shape(request["messages"])
    nxt = requests[asks[0] + 2]["messages"]  # append-only again from there: the prefix is byte-stable
    assert [json.dumps(m) for m in nxt[: len(after)]] == [json.dumps(m) for m in after]
    assert result.extra["context"]["summaries"] == len(summaries)


def test_the_plan_is_shown_after_a_compaction_when_the_toolset_has_one(repo):
    tools = build_toolset(repo)
    tools.plan = lambda: [{"step": "run the checks", "status": "in_progress"}, {"step": "finish", "status": "pending"}]
    long_run = LongRun(30)
    agent = Agent(long_run.model, tools, Config(context={"window": 12_000, "keep_recent_tokens": 2_000}))
    assert agent.run(TASK).stop_reason == "finished"
    asks = [i for i, r in enumerate(long_run.model.requests) if is_summary_request(r["messages"])]
    context = long_run.model.requests[asks[0] + 1]["messages"][2]["content"]
    assert "Current plan:\n- [in_progress] run the checks\n- [pending] finish" in context


def test_without_a_plan_or_a_failure_those_parts_are_left_out(repo):
    long_run = LongRun(30, fail_at=0)
    result, requests, events = run(repo, long_run, window=12_000, keep_recent_tokens=2_000)
    assert result.stop_reason == "finished"
    assert compactions(events, "summary")
    context = next(r["messages"][2]["content"] for r in requests if len(r["messages"]) > 2
                   and r["messages"][2]["role"] == "user")
    assert "Current plan" not in context and "failing command" not in context


def test_a_summary_answer_that_calls_tools_runs_none_and_the_contract_is_kept(repo):
    long_run = LongRun(30, summary=None)
    result, requests, events = run(repo, long_run, window=12_000, keep_recent_tokens=2_000)
    assert result.stop_reason == "finished" and not (repo / "ACTED").exists()
    summary = compactions(events, "summary")[0]
    assert summary["summary"] is None and summary["no_summary"] == "the model answered without text"
    asks = [i for i, r in enumerate(requests) if is_summary_request(r["messages"])]
    rebuilt = requests[asks[0] + 1]["messages"]
    assert rebuilt[1]["content"] == TASK and "(no summary could be written" in rebuilt[2]["content"]


def test_a_context_window_refusal_compacts_and_retries_once(repo):
    long_run = LongRun(6)
    refusals = []

    def answer(messages, tools):
        if len(messages) > 8 and not refusals and not is_summary_request(messages):
            refusals.append(len(messages))
            raise ContextTooLongError("Prompt exceeds max length", code="1261", status=400)
        return long_run.answer(messages, tools)

    long_run.model = FunctionModel(answer)
    result, requests, events = run(repo, long_run)
    assert result.stop_reason == "finished", result.error
    summary = compactions(events, "summary")
    assert [e["reason"] for e in summary] == ["context_too_long"]
    sent = [e for e in events if e["type"] == "request"]
    steps = [e["step"] for e in sent]
    again = [i for i in range(1, len(steps)) if steps[i] == steps[i - 1]]
    assert len(again) == 1  # the refused step, sent once more: the whole rebuilt conversation, tools included
    retry = sent[again[0]]
    assert "tools" in retry and retry["messages"][1]["content"] == TASK and retry["messages"][2]["role"] == "user"


def test_a_second_refusal_after_compacting_stops_as_context_exhausted(repo):
    long_run = LongRun(6)

    def answer(messages, tools):
        if len(messages) > 8 and not is_summary_request(messages):
            raise ContextTooLongError("Prompt exceeds max length", code="1261", status=400)
        return long_run.answer(messages, tools)

    long_run.model = FunctionModel(answer)
    result, _, events = run(repo, long_run)
    assert result.stop_reason == "context_exhausted"
    assert "again after compacting" in result.error and "1261" in result.error
    assert len(compactions(events, "summary")) == 1


def test_a_refusal_with_nothing_to_compact_stops_with_the_reason(repo):
    def answer(messages, tools):
        raise ContextTooLongError("Prompt exceeds max length", code="1261", status=400)

    result = Agent(FunctionModel(answer), build_toolset(repo)).run(TASK)
    assert result.stop_reason == "context_exhausted"
    assert "1261" in result.error and "task message alone" in result.error


@pytest.mark.parametrize("max_compactions,stop", [(1, "context_exhausted"), (3, "finished")])
def test_compactions_in_a_row_without_a_model_answer_are_capped(repo, max_compactions, stop):
    long_run = LongRun(30)
    refused = []

    def answer(messages, tools):  # GLM refuses the first prompt after a summary: its window is smaller
        after_summary = len(messages) > 2 and "compacted the conversation" in str(messages[2]["content"])
        if after_summary and not refused and not is_summary_request(messages):
            refused.append(True)
            raise ContextTooLongError("Prompt exceeds max length", code="1261", status=400)
        return long_run.answer(messages, tools)

    long_run.model = FunctionModel(answer)
    result, _, events = run(repo, long_run, window=12_000, keep_recent_tokens=2_000, max_compactions=max_compactions)
    assert result.stop_reason == stop, result.error
    summaries = compactions(events, "summary")
    assert [e["in_a_row"] for e in summaries[:2]] == [1, 2][:max_compactions]
    if stop == "context_exhausted":
        assert "1261" in result.error and "after 1 compaction(s) in a row" in result.error


def test_a_summary_too_long_to_help_stops_the_run_with_the_reason(repo):
    long_run = LongRun(30, summary="S" * 60_000)  # a model whose summary alone overflows the window
    result, _, events = run(repo, long_run, window=12_000)
    assert result.stop_reason == "context_exhausted"
    assert "12000-token window" in result.error and "task message alone are" in result.error
    assert len(compactions(events, "summary")) == 1


def test_thresholds_must_be_in_order():
    with pytest.raises(SectionError, match="shorten_at"):
        Config(context={"shorten_at": 0.9, "summarize_at": 0.8})


def test_the_documented_compaction_example_loads(tmp_path):
    from pathlib import Path

    from glm_agent.config.loading import load_config

    doc = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    section = doc[doc.index("## Compaction: long runs inside the window"):]
    example = section[section.index("```toml\n") + 8: section.index("```", section.index("```toml\n") + 8)]
    (tmp_path / "compaction.toml").write_text(example)
    config = load_config(config_file=tmp_path / "compaction.toml",
                         overrides=["context.keep_recent_steps=5"]).context
    assert (config.window, config.shorten_at, config.summarize_at, config.keep_recent_tokens) == (
        128_000, 0.6, 0.7, 30_000)
    assert config.keep_recent_steps == 5


def test_the_human_display_says_what_a_compaction_did():
    import io

    from glm_agent.cli.display import HumanDisplay

    out = io.StringIO()
    display = HumanDisplay(out)
    display.event({"type": "compaction", "stage": "shorten", "prompt_tokens_before": 141_000,
                   "prompt_tokens_after": 120_500, "results_shortened": 40, "reasoning_dropped": 12})
    display.event({"type": "compaction", "stage": "summary", "prompt_tokens_before": 160_200,
                   "prompt_tokens_after": 22_400, "kept_steps": 9})
    lines = out.getvalue().splitlines()
    assert "~141,000 -> ~120,500 tokens" in lines[0] and "40 old tool results shortened" in lines[0]
    assert "summary" in lines[1] and "last 9 steps kept" in lines[1]


def test_a_large_new_result_counts_toward_the_window_before_it_is_sent(repo):
    from glm_agent.testing.models import ScriptedModel

    usage = Usage(3000, 10, 0, 3010)  # what GLM reported for the prompt that held the old 8,000-character result
    print_chars = "head -c {} /dev/zero | tr '\\0' y".format
    model = ScriptedModel([make_turn(calls=[("bash", {"command": print_chars(8000)})], usage=usage),
                           make_turn(calls=[("bash", {"command": print_chars(20_000)})], usage=usage),
                           make_turn(calls=[("finish", {"summary": "done"})], usage=usage)])
    events = []
    config = Config(context={"window": 10_000, "keep_recent_steps": 1, "keep_chars": 100})
    result = Agent(model, build_toolset(repo), config, on_event=events.append).run(TASK)
    assert result.stop_reason == "finished"
    # 3000 real tokens + ~5000 estimated for the unsent 20,000 characters: past 70%, so the old result is cut
    shortened = compactions(events, "shorten")
    assert len(shortened) == 1 and list(shortened[0]["messages"]) == [3]
    assert "chars cut by glm-agent" in model.requests[2]["messages"][3]["content"]
    assert model.requests[2]["messages"][5]["content"].startswith("y" * 20_000)  # the new one is whole
    assert not compactions(events, "summary")


def test_a_cut_result_keeps_its_head_and_tail_says_how_much_went_and_is_never_cut_twice():
    from glm_agent.core.shortening import CUT_MARK, head_and_tail, shorten_old

    text = "HEAD line\n" + "x" * 5000 + "\nFAILED test_it - assert 1 == 2\n[exit code 1]"
    short = head_and_tail(text, 200)
    assert short.startswith("HEAD line") and short.endswith("FAILED test_it - assert 1 == 2\n[exit code 1]")
    assert f"[... {len(text) - 200} chars cut by glm-agent to save context, of {len(text)}" in short
    assert CUT_MARK in short and head_and_tail("short", 200) == "short"
    call = {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
                                                                "function": {"name": "bash", "arguments": "{}"}}]}
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "t"}, call,
                {"role": "tool", "tool_call_id": "c1", "content": short}, {"role": "assistant", "content": "x"}]
    # a conversation carried over (a resumed run: nothing remembered) is not cut again
    assert not shorten_old(messages, keep_steps=1, keep_chars=100, done=set())
    assert messages[3]["content"] == short


def test_a_task_too_big_for_summaries_to_help_gets_one_only_near_the_end_of_the_window(repo):
    long_run = LongRun(12, summary="Goal: g")
    huge = TASK + "\n" + "r" * 26_000  # with the system prompt and tools: ~85% of the 12,000-token window
    events = []
    agent = Agent(long_run.model, build_toolset(repo), Config(context={"window": 12_000}), on_event=events.append)
    result = agent.run(huge)
    assert result.stop_reason == "finished", result.error
    summaries = compactions(events, "summary")
    assert 1 <= len(summaries) <= 4  # not one every step: only when the prompt reached context.exhausted_at
    # the first one at summarize_at; once a summary showed it cannot get under it, only at exhausted_at
    assert summaries[0]["prompt_tokens_before"] >= 12_000 * 0.8
    assert all(e["prompt_tokens_before"] >= 12_000 * 0.95 for e in summaries[1:])
    assert all(r["messages"][1]["content"] == huge for r in long_run.model.requests)


def test_the_estimate_learns_from_glms_counts_so_a_rebuilt_prompt_fits_a_denser_tokenizer(repo):
    tools_chars = len(json.dumps(build_toolset(repo).schemas(), ensure_ascii=False))
    dense = lambda messages: 2 * (tools_chars + sum(len(json.dumps(m, ensure_ascii=False))  # noqa: E731
                                                    for m in messages)) // 4
    long_run = LongRun(40, prompt_tokens=dense)  # GLM counts twice the tokens chars/4 suggests
    result, requests, events = run(repo, long_run, window=12_000)
    assert result.stop_reason == "finished", result.error
    asks = [i for i, r in enumerate(requests) if is_summary_request(r["messages"])]
    assert asks
    for i in asks:  # the first prompt after each summary, as GLM counts it, is back under shorten_at
        assert dense(requests[i + 1]["messages"]) < 12_000 * 0.7


@pytest.mark.parametrize("hook, skipped", [
    ("""printf '{"hookSpecificOutput": {"additionalContext": "Keep the names of the failing tests."}}'""", False),
    ("echo not now >&2; exit 2", True)])
def test_pre_compact_hooks_add_to_the_summary_request_or_make_it_wait(repo, hook, skipped):
    """The pre_compact hook is asked before a summary: its instructions go into the summary request; a veto
    waits (the conversation is only shortened) until a refused request leaves no choice."""
    import os

    from glm_agent.tools.hooks import HookedToolset, Hooks

    config = Config(context={"window": 12_000, "keep_recent_tokens": 2_000, "keep_chars": 600},
                    hooks={"pre_compact": [{"command": hook}]})
    events = []
    toolset = HookedToolset(build_toolset(repo), Hooks(config.hooks, repo, "run-1", dict(os.environ),
                                                       on_event=events.append))
    long_run = LongRun(40)
    result = Agent(long_run.model, toolset, config, on_event=events.append).run(TASK)
    asks = [r for r in long_run.model.requests if is_summary_request(r["messages"])]
    if skipped:
        assert not asks and not compactions(events, "summary")
        assert compactions(events, "skipped")[0]["reason"] == "not now"
    else:
        assert result.stop_reason == "finished", result.error
        assert asks and "Keep the names of the failing tests." in asks[0]["messages"][-1]["content"]
