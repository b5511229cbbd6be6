"""How a model turn is replayed on the wire: verbatim where GLM accepts it, repaired where it would reject it."""
from __future__ import annotations

import json

import pytest
from glm_agent.core.turn import AssistantTurn, ToolCall, Usage


@pytest.mark.parametrize("arguments, replayed", [
    ('{"path": "a.txt"}', '{"path": "a.txt"}'),                      # valid: byte for byte (prefix cache)
    ('{"path":"a.txt","content":"x"}{"path":"a.txt","content":"x"}',  # GLM repeated the object
     '{"path":"a.txt","content":"x"}'),
    ('  {"path": "ü"} trailing words', '{"path":"ü"}'),              # junk after a leading object
    ('{"path": "a.t', "{}"),                                          # cut off by finish_reason length
    ("", "{}"),
    ("null", "{}"),
    ("[1, 2]", "{}"),
    ("<arg_key>path</arg_key><arg_value>a</arg_value>", "{}"),
])
def test_tool_call_arguments_are_replayed_as_a_json_object_string(arguments, replayed):
    wire = ToolCall("call_-8167732570302206983", "read_file", arguments).to_wire()
    assert wire == {"id": "call_-8167732570302206983", "type": "function",
                    "function": {"name": "read_file", "arguments": replayed}}
    assert isinstance(json.loads(wire["function"]["arguments"]), dict)


def test_assistant_message_keeps_content_and_reasoning_verbatim():
    turn = AssistantTurn(content="\nI'll read it.\n", reasoning_content="\nThe user wants",
                         tool_calls=[ToolCall("call_1", "read_file", '{"path":"x"}')],
                         finish_reason="tool_calls", usage=Usage(10, 2, 8, 12))
    assert turn.to_message() == {
        "role": "assistant", "content": "\nI'll read it.\n", "reasoning_content": "\nThe user wants",
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"x"}'}}],
    }


def test_assistant_message_without_text_or_reasoning_sends_empty_content_and_no_reasoning_key():
    message = AssistantTurn(content=None, reasoning_content="").to_message()
    assert message == {"role": "assistant", "content": ""}


def test_usage_adds_up():
    assert Usage(10, 2, 8, 12) + Usage(5, 1, 0, 6) == Usage(15, 3, 8, 18)
