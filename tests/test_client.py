"""GLMClient against the stand-in over loopback: requests it sends, turns it parses, and the key it hides."""
from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from glm_agent import GLMClient
from glm_agent.core.turn import Delta
from glm_agent.glm.errors import AuthenticationError, BadRequestError
from glm_agent.testing import Fault, Raw, Reply, StandIn

KEY = "sk-test-0123456789abcdefSECRET"
USER = [{"role": "user", "content": "fix the bug"}]
TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Read a file.",
                                           "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]


def make(server: StandIn, **options) -> GLMClient:
    options.setdefault("backoff", (0.0, 0.0))
    options.setdefault("base_url", server.base_url)
    return GLMClient(api_key=options.pop("api_key", KEY), **options)


@pytest.mark.parametrize("stream", [True, False])
def test_text_and_reasoning_turn(stream):
    with StandIn([Reply(content="\nDone: the bug is fixed.", reasoning="\nThe user wants a fix.")]) as server:
        turn = make(server).complete(USER, stream=stream)
    assert turn.content == "\nDone: the bug is fixed."
    assert turn.reasoning_content == "\nThe user wants a fix."
    assert turn.tool_calls == [] and turn.finish_reason == "stop"
    assert turn.usage.prompt_tokens > 0 and turn.usage.completion_tokens > 0
    assert turn.usage.total_tokens == turn.usage.prompt_tokens + turn.usage.completion_tokens
    assert turn.request_id and len(turn.request_id) == 30 and turn.request_id[:14].isdigit()
    assert turn.cost_usd > 0


@pytest.mark.parametrize("stream,tool_stream,style", [
    (True, True, "repeat_id"), (True, True, "first_id"), (True, True, "on_finish"),
    (True, False, "repeat_id"), (False, False, "repeat_id"),
])
def test_parallel_tool_calls_whole_and_fragmented(stream, tool_stream, style):
    args = {"path": "src/app.py", "note": "naïve ünïcode ✓"}
    reply = Reply(tool_calls=[("read_file", args), ("read_file", '{"path": "b.py"}')])
    with StandIn([reply], fragment_style=style) as server:
        turn = make(server, tool_stream=tool_stream).complete(USER, TOOLS, stream=stream)
        sent = server.requests[0]
    assert [c.name for c in turn.tool_calls] == ["read_file", "read_file"]
    assert json.loads(turn.tool_calls[0].arguments) == args
    assert turn.tool_calls[1].arguments == '{"path": "b.py"}'
    assert turn.finish_reason == "tool_calls"
    assert len({c.id for c in turn.tool_calls}) == 2
    assert sent.get("tool_stream", False) is (stream and tool_stream)
    if not stream:
        assert all(c.id.startswith("call_-") for c in turn.tool_calls)


def test_truncated_tool_arguments_are_returned_raw_with_length():
    with StandIn([Reply(tool_calls=[("read_file", '{"path": "src/ap')], finish_reason="length")]) as server:
        turn = make(server).complete(USER, TOOLS)
    assert turn.finish_reason == "length"
    assert turn.tool_calls[0].arguments == '{"path": "src/ap'


def test_on_delta_receives_fragments_in_order():
    seen: list[Delta] = []
    reply = Reply(content="Reading it now.", reasoning="Need the file.", tool_calls=[("read_file", {"path": "a"})])
    with StandIn([reply]) as server:
        turn = make(server).complete(USER, TOOLS, on_delta=seen.append)
    kinds = [d.kind for d in seen]
    assert kinds.index("reasoning") < kinds.index("content") < kinds.index("tool_call")
    assert "".join(d.text for d in seen if d.kind == "reasoning") == turn.reasoning_content
    assert "".join(d.text for d in seen if d.kind == "content") == turn.content
    first_call = next(d for d in seen if d.kind == "tool_call")
    assert first_call.name == "read_file" and first_call.index == 0
    assert "".join(d.text for d in seen if d.kind == "tool_call") == '{"path":"a"}'
    assert len([d for d in seen if d.kind == "reasoning"]) > 1  # one token per chunk, not one blob


def test_request_body_zai_dialect():
    with StandIn([Reply(content="ok")]) as server:
        make(server, thinking=False, temperature=0.6, top_p=0.9, stop="END", max_tokens=1000).complete(USER, TOOLS)
        body = server.requests[0]
    assert body["thinking"] == {"type": "disabled"}
    assert body["max_tokens"] == 1000 and body["temperature"] == 0.6 and body["top_p"] == 0.9
    assert body["stop"] == ["END"] and body["tool_choice"] == "auto" and body["tools"] == TOOLS
    assert body["stream"] is True and body["tool_stream"] is True
    assert "chat_template_kwargs" not in body and "stream_options" not in body


def test_request_body_openai_dialect_and_reasoning_alias():
    with StandIn([Reply(content="ok", reasoning="hmm"), Reply(content="ok2", reasoning="hm2")]) as server:
        client = make(server, base_url=server.url_for("/v1"), dialect="openai", thinking=True)
        streamed = client.complete(USER, TOOLS)
        whole = client.complete(USER, TOOLS, stream=False)
        body = server.requests[0]
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    assert "thinking" not in body and "tool_stream" not in body
    assert body["stream_options"] == {"include_usage": True}
    assert streamed.reasoning_content == "hmm" and whole.reasoning_content == "hm2"  # served as `reasoning`
    assert streamed.usage.total_tokens > 0  # from the choices-less usage chunk


def test_max_tokens_always_sent_and_no_thinking_field_by_default():
    with StandIn([Reply(content="ok")]) as server:
        make(server).complete(USER, stream=False)
        body = server.requests[0]
    assert body["max_tokens"] == 16384 and "thinking" not in body and "tools" not in body


@pytest.mark.parametrize("endpoint,prefix", [("coding", "/api/coding/paas/v4"), ("general", "/api/paas/v4")])
def test_endpoints_select_base_urls(endpoint, prefix):
    client = GLMClient(api_key=KEY, endpoint=endpoint)
    assert client.base_url == "https://api.z.ai" + prefix
    assert GLMClient(api_key=KEY, endpoint="mainland-coding").base_url == "https://open.bigmodel.cn/api/coding/paas/v4"
    with StandIn([Reply(content="ok")]) as server:
        make(server, base_url=server.url_for(prefix)).complete(USER)
        assert server.paths == [prefix + "/chat/completions"]


def test_unknown_endpoint_or_dialect_is_refused():
    with pytest.raises(ValueError, match="endpoint"):
        GLMClient(api_key=KEY, endpoint="moon")
    with pytest.raises(ValueError, match="dialect"):
        GLMClient(api_key=KEY, dialect="anthropic")


BAD_REQUESTS = [
    ({"temperature": 1.5}, {}, "temperature"),
    ({"temperature": -0.1}, {}, "temperature"),
    ({"top_p": 0.0}, {}, "top_p"),
    ({"stop": ["a", "b"]}, {}, "stop"),
    ({"max_tokens": 0}, {}, "max_tokens"),
    ({}, {"tools": [TOOLS[0]] * 129}, "128"),
    ({}, {"tools": [{"type": "function", "function": {"name": "read file", "parameters": {}}}]}, "name"),
    ({}, {"tools": [{"type": "function", "function": {"name": "x" * 65, "parameters": {}}}]}, "name"),
    ({}, {"messages": [{"role": "system", "content": "only system"}]}, "user message"),
    ({}, {"messages": []}, "non-empty"),
    ({}, {"messages": USER + [{"role": "assistant", "content": "", "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "x", "arguments": {"a": 1}}}]}]}, "JSON string"),
]


@pytest.mark.parametrize("options,call,fragment", BAD_REQUESTS)
def test_request_hygiene_fails_locally_before_sending(options, call, fragment):
    with StandIn([]) as server:
        client = make(server, **options)
        with pytest.raises(BadRequestError, match=fragment):
            client.complete(call.get("messages", USER), call.get("tools"))
        assert server.requests == []


ACCEPTED_BY_GLM = [  # refused before; the recordings show the real service answering each (glm_agent.glm.request)
    ({"max_tokens": None}, {}),
    ({"extra_body": {"tool_choice": {"type": "function", "function": {"name": "read_file"}}}}, {"tools": TOOLS}),
    ({}, {"messages": USER + [{"role": "assistant", "content": "\n", "tool_calls": [
        {"id": "call_-1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]},
        {"role": "tool", "content": "x"}]}),
]


@pytest.mark.parametrize("options,call", ACCEPTED_BY_GLM, ids=["no-max-tokens", "named-tool-choice", "no-tool-id"])
def test_requests_glm_answers_are_sent(options, call):
    with StandIn([Reply(content="ok")]) as server:
        turn = make(server, **options).complete(call.get("messages", USER), call.get("tools"))
        body = server.requests[0]
    assert turn.content == "ok"
    assert ("max_tokens" in body) is (options.get("max_tokens", 1) is not None)
    assert body["messages"] == call.get("messages", USER)


def test_missing_key_is_a_clear_authentication_error():
    with pytest.raises(AuthenticationError, match="ZAI_API_KEY"):
        GLMClient()


def test_key_from_environment_is_sent_as_bearer(monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    with StandIn([Reply(content="ok")], api_key=KEY) as server:
        assert GLMClient(server.base_url).complete(USER).content == "ok"


def test_key_never_in_repr_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    script = [Fault.http(429, "1302", f"echoing {KEY} back"), Fault.http(401, "1002", f"bad token {KEY}")]
    with StandIn(script) as server:
        client = make(server, max_retries=1)
        with pytest.raises(AuthenticationError) as caught:
            client.complete(USER)
    assert KEY not in repr(client) and KEY not in str(client.__dict__.get("_http"))
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert caught.value.hint and caught.value.status == 401 and caught.value.code == "1002"
    assert "<redacted>" in str(caught.value)
    assert KEY not in caplog.text
    assert "retry 1/1" in caplog.text  # the retry was logged, without the key


def test_empty_key_sends_no_authorization_header():
    with StandIn([Reply(content="ok")]) as server:
        with pytest.raises(AuthenticationError):
            make(server, api_key="", max_retries=0).complete(USER)


def test_tolerant_parsing_of_odd_but_real_shapes():
    """No object, null content, call_-int ids, index -1, extra fields, choices-less chunks, flat usage."""
    frames = [
        {"id": "r1", "created": 1, "model": "glm-4.6", "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                                          "content": None}}]},
        {"id": "r1", "choices": [], "something_new": {"x": 1}},
        {"id": "r1", "choices": [{"index": 0, "delta": {"tool_calls": [{"id": "call_-8167732570302206983",
                                                                         "index": -1, "type": "function",
                                                                         "function": {"name": "read_file",
                                                                                      "arguments": "{\"path\""}}]}}]},
        {"id": "r1", "choices": [{"index": 0, "delta": {"tool_calls": [{"id": "call_-8167732570302206983",
                                                                         "index": -1,
                                                                         "function": {"arguments": ":\"a\"}"}}]}}]},
        {"id": "r1", "choices": [{"index": 0, "finish_reason": "tool_calls", "delta": {}}]},
        {"id": "r1", "choices": [{"index": 0, "finish_reason": "tool_calls", "delta": {"content": ""}}],
         "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                   "prompt_tokens_details": {"cached_tokens": 8}}},
    ]
    body = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + ": keep-alive comment\n\ndata: [DONE]\n\n"
    with StandIn([Raw(body, chunks=[7] * (len(body) // 7))]) as server:
        turn = make(server).complete(USER, TOOLS)
    assert turn.tool_calls[0].id == "call_-8167732570302206983"
    assert turn.tool_calls[0].arguments == '{"path":"a"}'
    assert turn.usage.cached_tokens == 8 and turn.request_id == "r1"
    assert turn.cost_usd == pytest.approx((2 * 0.60 + 8 * 0.11 + 5 * 2.20) / 1e6)


def test_custom_prices_override_the_table():
    with StandIn([Reply(content="ok", usage={"prompt_tokens": 1000, "completion_tokens": 1000,
                                             "cached_tokens": 0})]) as server:
        turn = make(server, prices={"glm-4.6": {"input": 1.0, "cached_input": 0.5, "output": 2.0}}).complete(USER)
    assert turn.cost_usd == pytest.approx(0.003)


def test_deltas_arrive_while_the_stream_is_still_running():
    reply = Reply(content=" ".join(f"word{i}" for i in range(20)))
    stamps: list[float] = []
    with StandIn([reply], chunk_delay=0.05) as server:
        client = make(server)
        started = time.monotonic()
        client.complete(USER, on_delta=lambda d: stamps.append(time.monotonic()))
        ended = time.monotonic()
    assert len(stamps) == 20
    assert stamps[0] - started < (ended - started) / 2  # the first token did not wait for the last


def test_tool_calls_given_as_dicts_are_accepted_by_the_stand_in():
    with StandIn([Reply(tool_calls=[{"name": "read_file", "arguments": {"path": "a"}}])]) as server:
        turn = make(server).complete(USER, TOOLS)
    assert turn.tool_calls[0].name == "read_file" and json.loads(turn.tool_calls[0].arguments) == {"path": "a"}


def test_thinking_can_be_switched_per_call():
    with StandIn([Reply(content="a"), Reply(content="b")]) as server:
        client = make(server, thinking=True)
        client.complete(USER, thinking=False)
        client.complete(USER)
        first, second = server.requests
    assert first["thinking"] == {"type": "disabled"} and second["thinking"] == {"type": "enabled"}


@pytest.mark.parametrize("stream", [True, False])
def test_on_sent_fires_once_per_request_after_it_went_out_and_before_the_answer(stream):
    sent = threading.Semaphore(0)
    seen_before_answer = []

    def responder(body):  # answers only once the client says the request is out (or after 5 s)
        seen_before_answer.append(sent.acquire(timeout=5))
        return Reply(content="ok")

    with StandIn(responder=responder) as server:
        client = make(server, on_sent=sent.release)
        messages = [{"role": "user", "content": "hi"}]
        for _ in range(2):
            assert client.complete(messages, stream=stream).content == "ok"
        client.close()
    assert seen_before_answer == [True, True]
    assert not sent.acquire(timeout=0)  # exactly once per request


def test_leaked_tool_calls_in_content_are_parsed():
    from glm_agent.glm.markup import parse_leaked_calls

    text = ("I'll look.\n<tool_call>read_file\n<arg_key>path</arg_key>\n<arg_value>src/a.py</arg_value>\n</tool_call>"
            "<tool_call>bash<arg_key>command</arg_key><arg_value>ls -la</arg_value></tool_call>")
    bash = {"type": "function", "function": {"name": "bash", "parameters": {
        "type": "object", "properties": {"command": {"type": "string"}}}}}
    content, calls = parse_leaked_calls(text, [*TOOLS, bash])
    assert content == "I'll look." and [(name, json.loads(args)) for name, args in calls] == [
        ("read_file", {"path": "src/a.py"}), ("bash", {"command": "ls -la"})]
    assert parse_leaked_calls("no calls here", TOOLS) == ("no calls here", [])
