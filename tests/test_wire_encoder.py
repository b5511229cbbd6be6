"""Request bodies encoded step by step are the bodies encoded from scratch: appended, edited or replaced messages."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from glm_agent.glm.encoder import RequestEncoder
from glm_agent.glm.errors import BadRequestError
from glm_agent.glm.request import build_request
from glm_agent.testing import Reply, StandIn

from tests.test_client import KEY, TOOLS, make

OPTIONS = dict(model="glm-4.6", tools=TOOLS, stream=True, dialect="zai", thinking=True, tool_stream=True,
               temperature=0.6, top_p=None, max_tokens=1000, stop="END", extra={"user_id": "user-123456"})


def body_of(messages: list[dict]) -> dict:
    return build_request(messages=messages, **OPTIONS)


def from_scratch(body: dict) -> bytes:
    """What httpx sends for `json=body`: the encoding the incremental one must reproduce."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def step(messages: list[dict], i: int) -> None:
    """One loop step's worth of history: an assistant turn with a call, then its result (non-ASCII included)."""
    call = {"id": f"call_-{i}", "type": "function",
            "function": {"name": "read_file", "arguments": f'{{"path":"{i}.py"}}'}}
    messages.append({"role": "assistant", "content": "\nReading ✓", "reasoning_content": "naïve",
                     "tool_calls": [call]})
    messages.append({"role": "tool", "tool_call_id": f"call_-{i}", "content": f"contents of {i}.py: 世界\n" * 20})


def history(steps: int) -> list[dict]:
    messages = [{"role": "system", "content": "You are a coding agent."}, {"role": "user", "content": "fix it"}]
    for i in range(steps):
        step(messages, i)
    return messages


def test_a_growing_history_encodes_as_from_scratch_at_every_step():
    encoder, messages = RequestEncoder(), history(0)
    for i in range(6):
        body = body_of(messages)
        sent = encoder.encode(body)
        assert sent == from_scratch(body)
        assert json.loads(sent) == json.loads(from_scratch(body))
        step(messages, i)


@pytest.mark.parametrize("edit", [
    lambda m: m[3].update(content="[shortened] contents of 0.py"),  # what the loop's context shortening does
    lambda m: m[3].pop("tool_call_id") and m[3].update(tool_call_id="call_-0b"),
    lambda m: m[2]["tool_calls"][0]["function"].update(arguments='{"path":"other.py"}'),  # nested, in place
    lambda m: m[2]["tool_calls"].append({"id": "x", "type": "function", "function": {"name": "a", "arguments": "{}"}}),
    lambda m: m.__setitem__(3, dict(m[3], content="a new dict at the same position")),
    lambda m: m.__setitem__(4, m[2]),  # the same message at two positions
    lambda m: m.__delitem__(slice(4, None)),  # a shorter history
    lambda m: m.insert(2, {"role": "user", "content": "inserted"}),
], ids=["shortened", "key-replaced", "nested-edit", "call-added", "new-dict", "same-dict-twice", "shorter", "insert"])
def test_a_message_changed_after_it_was_sent_is_encoded_again(edit):
    encoder, messages = RequestEncoder(), history(3)
    encoder.encode(body_of(messages))
    edit(messages)
    step(messages, 9)
    body = body_of(messages)
    assert encoder.encode(body) == from_scratch(body)


def test_fields_changed_between_calls_are_encoded_again():
    encoder, messages = RequestEncoder(), history(1)
    tools = json.loads(json.dumps(TOOLS))
    first = dict(body_of(messages), tools=tools)
    encoder.encode(first)
    tools[0]["function"]["description"] = "Read a whole file."  # the same list, edited in place
    second = dict(body_of(messages), tools=tools, temperature=1.0, thinking={"type": "disabled"})
    assert encoder.encode(second) == from_scratch(second)
    assert json.loads(encoder.encode(first)) == json.loads(from_scratch(first))


@pytest.mark.parametrize("edit,fragment", [
    (lambda m: m[3].update(role="robot"), "message 3 has role 'robot'"),
    (lambda m: m[2]["tool_calls"][0]["function"].update(arguments={"a": 1}), "assistant message 2: tool call"),
    (lambda m: m[1].update(role="human"), "message 1 has role 'human'"),
    (lambda m: m[1].update(role="system"), "at least one user message"),
], ids=["old-role", "arguments", "role", "no-user"])
def test_an_old_message_broken_in_place_is_refused_like_a_new_one(edit, fragment):
    encoder, messages = RequestEncoder(), history(2)
    encoder.encode(body_of(messages))
    edit(messages)
    with pytest.raises(BadRequestError, match=fragment) as caught:
        encoder.encode(body_of(messages))
    assert "request not sent: " in str(caught.value) and caught.value.code == "local"
    with pytest.raises(BadRequestError, match=fragment):  # a refusal leaves nothing behind that would pass it
        encoder.encode(body_of(messages))


def test_the_first_problem_is_reported_whatever_was_seen_before():
    encoder, messages = RequestEncoder(), history(2)
    encoder.encode(body_of(messages))
    messages.append({"role": "human", "content": "new"})
    messages[3]["role"] = "robot"
    with pytest.raises(BadRequestError, match="message 3 has role 'robot'"):
        encoder.encode(body_of(messages))
    messages[3]["role"] = "tool"
    with pytest.raises(BadRequestError, match="message 6 has role 'human'"):
        encoder.encode(body_of(messages))
    messages[6]["role"] = "user"
    body = body_of(messages)
    assert encoder.encode(body) == from_scratch(body)


def test_options_and_the_growing_history_reach_the_server_over_several_steps():
    messages, expected = history(0), []
    with StandIn([Reply(content="a"), Reply(content="b"), Reply(content="c")]) as server:
        client = make(server, thinking=True, temperature=0.6, stop="END", extra_body={"user_id": "user-123456"})
        for i in range(3):
            expected.append(json.loads(json.dumps(messages)))
            client.complete(messages, TOOLS)
            step(messages, i)
            messages[3]["content"] = f"[shortened {i}]"
        received = server.requests
    assert len(received) == 3
    for i, body in enumerate(received):
        assert body["messages"] == expected[i]
        assert body["thinking"] == {"type": "enabled"} and body["temperature"] == 0.6 and body["stop"] == ["END"]
        assert body["tools"] == TOOLS and body["tool_choice"] == "auto" and body["tool_stream"] is True
        assert body["user_id"] == "user-123456" and body["max_tokens"] == 16384


SEND_WITHOUT_PYDANTIC = f"""
import json, sys
import httpx
import glm_agent.glm.client
from glm_agent.glm.request import build_request
from glm_agent.glm.encoder import RequestEncoder

messages = [{{"role": "user", "content": "hi"}}]
RequestEncoder().encode(build_request(model="glm-4.6", messages=messages, tools=None, stream=False, dialect="zai",
                                      thinking=None, tool_stream=True, temperature=None, top_p=None, max_tokens=10,
                                      stop=None))
assert "pydantic" not in sys.modules, "building a request loaded pydantic"
loaded_when_sent = []

def answer(request):
    loaded_when_sent.append("pydantic" in sys.modules)
    body = {{"id": "r1", "choices": [{{"index": 0, "finish_reason": "stop", "message": {{"content": "ok"}}}}],
            "usage": {{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}}}
    return httpx.Response(200, json=body)

client = glm_agent.glm.client.GLMClient(base_url="http://127.0.0.1:9/v4", api_key={KEY!r},
                                transport=httpx.MockTransport(answer))
assert client.complete(messages, stream=False).content == "ok"
assert loaded_when_sent == [False], "pydantic was loaded before the first request went out"
"""


def test_the_first_request_goes_out_before_pydantic_is_loaded():
    done = subprocess.run([sys.executable, "-c", SEND_WITHOUT_PYDANTIC], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
