"""SSE framing: events cut anywhere by the network (mid-line, mid-UTF-8 character) come out whole."""
from __future__ import annotations

import json

import pytest
from glm_agent import GLMClient
from glm_agent.glm.errors import ServerError, StreamInterruptedError
from glm_agent.glm.sse import SSEDecoder
from glm_agent.testing import Raw, StandIn

STREAM = (
    'data: {"id":"a","choices":[{"index":0,"delta":{"role":"assistant","content":"héllo 世界 🙂"}}]}\n\n'
    ": a comment line\n\n"
    "event: ignored\n"
    'data: {"id":"a","choices":[{"index":0,"finish_reason":"stop","delta":{"content":""}}],'
    '"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\r\n\r\n'
    "data: [DONE]\n\n"
).encode("utf-8")


def decode_in_pieces(data: bytes, size: int) -> list[str]:
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(data), size):
        events += decoder.feed(data[start:start + size])
    return events + decoder.close()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 10_000])
def test_events_survive_any_split(size):
    events = decode_in_pieces(STREAM, size)
    assert len(events) == 3 and events[-1] == "[DONE]"
    assert json.loads(events[0])["choices"][0]["delta"]["content"] == "héllo 世界 🙂"
    assert json.loads(events[1])["usage"]["total_tokens"] == 5


def test_last_event_without_blank_line_is_flushed_at_close():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: [DONE]") == []
    assert decoder.close() == ["[DONE]"]


def test_multi_line_data_is_joined_and_missing_space_is_fine():
    assert decode_in_pieces(b"data:{\"a\":\ndata: 1}\n\n", 4) == ['{"a":\n1}']


@pytest.mark.parametrize("size", [1, 3, 13])
def test_client_parses_a_stream_split_mid_character(size):
    with StandIn([Raw(STREAM, chunks=[size] * (len(STREAM) // size + 1))]) as server:
        turn = GLMClient(server.base_url, api_key="k").complete([{"role": "user", "content": "hi"}])
    assert turn.content == "héllo 世界 🙂" and turn.usage.total_tokens == 5 and turn.finish_reason == "stop"


def test_reading_continues_past_the_first_finish_reason():
    frames = [
        {"id": "b", "choices": [{"index": 0, "finish_reason": "tool_calls", "delta": {"tool_calls": [
            {"id": "call_1", "index": 0, "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]},
        {"id": "b", "choices": [{"index": 0, "finish_reason": "tool_calls", "delta": {"tool_calls": [
            {"id": "call_2", "index": 1, "type": "function", "function": {"name": "g", "arguments": "{}"}}]}}]},
        {"id": "b", "choices": [{"index": 0, "finish_reason": "tool_calls", "delta": {"role": "assistant",
                                                                                     "content": ""}}],
         "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}},
    ]
    body = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n"
    with StandIn([Raw(body)]) as server:
        turn = GLMClient(server.base_url, api_key="k").complete([{"role": "user", "content": "hi"}])
    assert [c.name for c in turn.tool_calls] == ["f", "g"] and turn.usage.total_tokens == 10


def test_stream_without_done_or_finish_is_interrupted():
    body = 'data: {"id":"c","choices":[{"index":0,"delta":{"content":"partial"}}]}\n\n'
    with StandIn([Raw(body)]) as server:
        with pytest.raises(StreamInterruptedError):
            GLMClient(server.base_url, api_key="k", max_retries=0).complete([{"role": "user", "content": "hi"}])


def test_invalid_utf8_in_a_frame_is_a_stream_error():
    body = b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"\xff"}}]}\n\ndata: [DONE]\n\n'
    with StandIn([Raw(body, content_type="text/event-stream")]) as server:
        with pytest.raises(StreamInterruptedError, match="UTF-8"):
            GLMClient(server.base_url, api_key="k", max_retries=0).complete([{"role": "user", "content": "hi"}])


def test_error_frame_with_choices_is_still_an_error():
    frames = [
        '{"id":"d","choices":[{"index":0,"delta":{"content":"par"}}]}',
        '{"id":"d","error":{"code":502,"message":"upstream died"},'
        '"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}',
    ]
    body = "".join(f"data: {f}\n\n" for f in frames) + "data: [DONE]\n\n"
    with StandIn([Raw(body)]) as server:
        client = GLMClient(server.url_for("/v1"), api_key="k", dialect="openai", max_retries=0)
        with pytest.raises(ServerError, match="upstream died") as caught:
            client.complete([{"role": "user", "content": "hi"}])
    assert caught.value.code == "502" and caught.value.retryable
