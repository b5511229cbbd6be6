"""The loop against in-process scripted models: every stop reason, the nudge, the soft landing, replayable history."""
from __future__ import annotations

import json

import pytest
from glm_agent.config.settings import Config
from glm_agent.core.loop import Agent
from glm_agent.core.turn import Usage
from glm_agent.glm.errors import QuotaError
from glm_agent.testing.models import (
    FunctionModel,
    ScriptedModel,
    ScriptExhausted,
    make_turn,
)
from glm_agent.tools import ToolResult as Result


class MiniToolset:
    """Toolset-shaped: echo returns its text, count returns a fresh number, finish accepts."""

    def __init__(self):
        self.calls, self.counter = [], 0

    def names(self):
        return ["echo", "count", "finish"]

    def schemas(self):
        return [{"type": "function", "function": {"name": n, "description": n, "parameters": {"type": "object"}}}
                for n in self.names()]

    def changed_paths(self):
        return ["a.py"] if self.calls else []

    def dispatch(self, name, arguments):
        self.calls.append((name, arguments))
        if name not in self.names():
            return Result(f"unknown tool {name}", is_error=True, malformed=True)
        try:
            args = json.loads(arguments)
        except ValueError:
            return Result("arguments are not valid JSON", is_error=True, malformed=True)
        if name == "finish":
            return Result("accepted", finish_summary=args.get("summary", ""))
        if name == "count":
            self.counter += 1
            return Result(str(self.counter))
        return Result(args.get("text", ""))


def echo(text="hi", **kw):
    return make_turn(calls=[("echo", {"text": text})], **kw)


def finish(summary="done"):
    return make_turn(calls=[("finish", {"summary": summary})])


def run(script, config=None, task="do it"):
    model, tools, events = ScriptedModel(script), MiniToolset(), []
    result = Agent(model, tools, config or Config(), on_event=events.append).run(task)
    return result, model, events


def test_finish_stops_with_the_summary_and_records_the_stop():
    result, model, events = run([echo("a"), finish("fixed it")])
    assert (result.stop_reason, result.summary, result.steps) == ("finished", "fixed it", 2)
    assert result.error is None and result.files_changed == ["a.py"]
    assert result.usage["total_tokens"] == 220
    assert events[-1]["type"] == "stop" and events[-1]["stop_reason"] == "finished"
    assert [m["role"] for m in model.requests[1]["messages"]] == ["system", "user", "assistant", "tool"]


def test_reasoning_of_turn_k_is_sent_back_in_request_k_plus_1():
    _, model, _ = run([echo("a", reasoning="I should echo first"), finish()])
    assistant = model.requests[1]["messages"][2]
    assert assistant["reasoning_content"] == "I should echo first"
    assert assistant["tool_calls"][0]["function"]["arguments"] == json.dumps({"text": "a"})


def test_each_request_extends_the_previous_one_byte_for_byte():
    _, model, _ = run([echo("a"), echo("b"), make_turn("thinking aloud"), echo("c"), finish()])
    dumps = [[json.dumps(m, sort_keys=True) for m in r["messages"]] for r in model.requests]
    for before, after in zip(dumps, dumps[1:]):
        assert after[: len(before)] == before
    assert len({json.dumps(r["tools"]) for r in model.requests}) == 1


def test_first_answer_without_a_tool_gets_a_nudge_and_then_work_continues():
    result, model, events = run([make_turn("I think it is fine."), finish()])
    assert result.stop_reason == "finished"
    nudge = model.requests[1]["messages"][-1]
    assert nudge["role"] == "user" and "finish" in nudge["content"]
    assert any(e["type"] == "nudge" for e in events)


def test_two_answers_in_a_row_without_a_tool_stop_with_no_action():
    result, _, _ = run([make_turn("done?"), make_turn("really done")])
    assert result.stop_reason == "no_action" and result.steps == 2


def test_max_steps_names_the_limit_and_warns_once_at_ninety_percent():
    config = Config(limits={"max_steps": 10})
    result, model, events = run([echo(str(i)) for i in range(10)], config)
    assert (result.stop_reason, result.limit, result.steps) == ("limit_reached", "max_steps", 10)
    assert "max_steps" in result.error
    warnings = [e for e in events if e["type"] == "warning"]
    assert len(warnings) == 1
    assert "max_steps" not in model.requests[7]["messages"][-1]["content"]
    last_tool = model.requests[8]["messages"][-1]  # request 9 of 10 carries the warning
    assert last_tool["role"] == "tool" and "90%" in last_tool["content"] and "max_steps" in last_tool["content"]
    assert all(m["role"] != "user" for m in model.requests[9]["messages"][2:])


@pytest.mark.parametrize("limit,value,turn_kwargs", [
    ("max_cost_usd", 0.05, {"cost_usd": 0.02}),
    ("max_total_tokens", 500, {"usage": Usage(200, 20, 0, 220)}),
])
def test_cost_and_token_budgets(limit, value, turn_kwargs):
    result, _, events = run([echo(str(i), **turn_kwargs) for i in range(5)], Config(limits={limit: value}))
    assert (result.stop_reason, result.limit, result.steps) == ("limit_reached", limit, 3)
    assert [e["limit"] for e in events if e["type"] == "warning"] == [limit]


def test_wall_clock_timeout():
    def slow(messages, tools):
        import time
        time.sleep(0.05)
        return echo(str(len(messages)))

    model, events = FunctionModel(slow), []
    result = Agent(model, MiniToolset(), Config(limits={"timeout": 0.12}), on_event=events.append).run("t")
    assert (result.stop_reason, result.limit) == ("limit_reached", "timeout")
    assert 2 <= result.steps <= 4


def test_same_call_same_result_three_times_is_stuck():
    result, _, _ = run([echo("x"), echo("x"), echo("x"), finish()])
    assert result.stop_reason == "stuck" and result.steps == 3


def test_same_call_with_different_results_is_not_stuck():
    count = lambda: make_turn(calls=[("count", {})])  # noqa: E731
    result, _, _ = run([count(), count(), count(), finish()])
    assert result.stop_reason == "finished"


def test_three_malformed_turns_in_a_row_stop_with_format_errors():
    bad = lambda: make_turn(calls=[("echo", '{"text": "unterminated')])  # noqa: E731
    result, model, _ = run([bad(), make_turn(calls=[("nosuchtool", "{}")]), bad(), finish()])
    assert result.stop_reason == "format_errors" and result.steps == 3
    # malformed arguments are replayed as valid JSON so GLM accepts the history
    assert model.requests[1]["messages"][2]["tool_calls"][0]["function"]["arguments"] == "{}"


def test_a_good_turn_resets_the_format_error_count():
    bad = lambda: make_turn(calls=[("echo", "{oops")])  # noqa: E731
    result, _, _ = run([bad(), bad(), echo("ok"), bad(), bad(), finish()])
    assert result.stop_reason == "finished"


def test_api_error_carries_the_diagnosis():
    result, _, _ = run([QuotaError("balance exhausted", code="1113", status=429, hint="top up")])
    assert result.stop_reason == "api_error" and "1113" in result.error and "top up" in result.error


def test_keyboard_interrupt_stops_cleanly_with_a_stop_event():
    result, _, events = run([echo(), KeyboardInterrupt()])
    assert result.stop_reason == "interrupted" and result.steps == 1
    assert events[-1] == {**events[-1], "type": "stop", "stop_reason": "interrupted"}


def test_running_out_of_script_fails_loudly():
    with pytest.raises(ScriptExhausted):
        run([echo()])


def test_a_tool_call_leaked_into_the_text_gets_a_pointed_nudge():
    leaked = make_turn("<tool_call>echo<arg_key>text</arg_key><arg_value>hi</arg_value></tool_call>")
    result, model, _ = run([leaked, finish()])
    nudge = model.requests[1]["messages"][-1]["content"]
    assert result.stop_reason == "finished" and "markup" in nudge and "function-calling" in nudge
