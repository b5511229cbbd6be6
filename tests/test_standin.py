"""The stand-in speaks Z.ai's wire format: checked with raw httpx requests, independently of GLMClient."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import httpx
import pytest
from glm_agent.testing import Fault, Raw, Reply, StandIn, load_script

AUTH = {"Authorization": "Bearer test-key"}
USER = [{"role": "user", "content": "hello"}]
TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Read.", "parameters": {}}}]


def post(server: StandIn, body: dict, *, prefix: str = "/api/paas/v4", headers=AUTH) -> httpx.Response:
    return httpx.post(server.url_for(prefix) + "/chat/completions", json=body, headers=headers, timeout=10)


def frames(response: httpx.Response) -> list[str]:
    return [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]


def request(**fields) -> dict:
    return {"model": "glm-4.6", "messages": USER, "max_tokens": 100, **fields}


def test_non_stream_body_is_shaped_like_the_service():
    with StandIn([Reply(content="Hi.", reasoning="\nthink", tool_calls=[("read_file", {"path": "a"})])]) as server:
        response = post(server, request(tools=TOOLS))
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    body = response.json()
    assert list(body) == ["choices", "created", "id", "model", "request_id", "usage"]  # sorted, no `object`
    assert body["id"] == body["request_id"] == response.headers["x-log-id"]
    assert re.fullmatch(r"\d{14}[0-9a-f]{16}", body["id"])
    message = body["choices"][0]["message"]
    assert list(message) == ["content", "reasoning_content", "role", "tool_calls"]
    call = message["tool_calls"][0]
    assert re.fullmatch(r"call_-\d+", call["id"]) and call["index"] == 0
    assert call["function"] == {"arguments": '{"path":"a"}', "name": "read_file"}
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert set(body["usage"]) == {"completion_tokens", "prompt_tokens", "prompt_tokens_details", "total_tokens"}
    assert response.text == json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_tool_call_without_content_omits_the_content_key_like_glm46():
    with StandIn([Reply(tool_calls=[("read_file", {})])]) as server:
        message = post(server, request(tools=TOOLS)).json()["choices"][0]["message"]
    assert "content" not in message


def test_stream_is_one_token_per_chunk_with_usage_on_the_last():
    reply = Reply(content="The answer is 42.", reasoning="Let me think about it.")
    with StandIn([reply]) as server:
        response = post(server, request(stream=True))
    assert response.headers["content-type"] == "text/event-stream;charset=UTF-8"
    data = frames(response)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all("object" not in c and list(c)[:3] == ["id", "created", "model"] for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert all(d.get("role") == "assistant" for d in deltas)
    assert deltas[0] == {"role": "assistant", "content": "", "reasoning_content": "Let"}
    assert "".join(d.get("reasoning_content", "") for d in deltas) == reply.reasoning
    assert "".join(d.get("content", "") for d in deltas) == reply.content
    assert sum(1 for d in deltas if d.get("content")) == 4  # "The", " answer", " is", " 42."
    assert all("usage" not in c and "finish_reason" not in c["choices"][0] for c in chunks[:-1])
    assert chunks[-1]["choices"][0] == {"index": 0, "finish_reason": "stop",
                                        "delta": {"role": "assistant", "content": ""}}
    assert chunks[-1]["usage"]["total_tokens"] > 0


def test_stream_whole_tool_calls_with_newline_content_and_duplicated_finish():
    reply = Reply(tool_calls=[("read_file", {"path": "a"}), ("read_file", {"path": "b"})])
    with StandIn([reply]) as server:
        chunks = [json.loads(d) for d in frames(post(server, request(stream=True, tools=TOOLS)))[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "\n"}
    calls = [c["choices"][0] for c in chunks if "tool_calls" in c["choices"][0]["delta"]]
    assert [c["delta"]["tool_calls"][0]["index"] for c in calls] == [0, 1]
    assert all(re.fullmatch(r"call_[0-9a-f]{24}", c["delta"]["tool_calls"][0]["id"]) for c in calls)
    assert all("role" not in c["delta"] for c in calls)
    assert [c.get("finish_reason") for c in calls] == ["tool_calls", "tool_calls"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls" and "usage" in chunks[-1]


def test_tool_stream_fragments_only_when_requested():
    reply = Reply(tool_calls=[("read_file", {"path": "src/deep/module.py"})])
    with StandIn([reply, reply]) as server:
        fragmented = [json.loads(d) for d in frames(post(server, request(stream=True, tools=TOOLS,
                                                                        tool_stream=True)))[:-1]]
        whole = [json.loads(d) for d in frames(post(server, request(stream=True, tools=TOOLS)))[:-1]]
    pieces = [c["choices"][0]["delta"]["tool_calls"][0] for c in fragmented if "tool_calls" in c["choices"][0]["delta"]]
    assert len(pieces) > 3 and pieces[0]["function"] == {"name": "read_file", "arguments": ""}
    assert all("name" not in p["function"] for p in pieces[1:]) and len({p["id"] for p in pieces}) == 1
    assert "".join(p["function"]["arguments"] for p in pieces) == '{"path":"src/deep/module.py"}'
    assert sum(1 for c in whole if "tool_calls" in c["choices"][0]["delta"]) == 1


def test_openai_path_speaks_the_vllm_dialect():
    with StandIn([Reply(content="ok", reasoning="r"), Reply(content="ok")]) as server:
        data = frames(post(server, request(stream=True, stream_options={"include_usage": True}), prefix="/v1"))
        body = post(server, request(), prefix="/v1").json()
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["reasoning"] == "r"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")


@pytest.mark.parametrize("fault,status,code", [
    (Fault.http(429, "1302"), 429, "1302"), (Fault.http(429, "1305"), 429, "1305"),
    (Fault.http(429, "1113"), 429, "1113"), (Fault.http(400, "1261"), 400, "1261"),
    (Fault.http(401, "1002"), 401, "1002"), (Fault.http(500, "500"), 500, "500"),
])
def test_http_faults_carry_business_codes_as_strings(fault, status, code):
    with StandIn([fault]) as server:
        response = post(server, request())
    assert response.status_code == status
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_inband_error_frame_ends_the_stream():
    with StandIn([Fault.inband_error("1302", after=2)]) as server:
        data = frames(post(server, request(stream=True)))
    assert len(data) == 3 and "[DONE]" not in data
    error = json.loads(data[-1])
    assert list(error) == ["error"] and error["error"]["code"] == "1302" and error["error"]["message"]


def test_malformed_frame_is_not_json():
    with StandIn([Fault.malformed_frame(after=1)]) as server:
        data = frames(post(server, request(stream=True)))
    with pytest.raises(ValueError):
        json.loads(data[1])
    assert data[-1] == "[DONE]"


def test_drop_mid_stream_cuts_the_connection():
    with StandIn([Fault.drop_mid_stream(after=2)]) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            post(server, request(stream=True))


def test_empty_reply_has_null_content_and_zero_usage():
    with StandIn([Fault.empty_reply()]) as server:
        body = post(server, request()).json()
    assert body["choices"][0]["message"]["content"] is None
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["total_tokens"] == 0 and body["usage"]["prompt_tokens"] == 0


@pytest.mark.parametrize("reason", ["length", "sensitive", "network_error", "model_context_window_exceeded"])
def test_finish_reasons_are_sent_as_scripted(reason):
    with StandIn([Reply(content="x", finish_reason=reason)]) as server:
        chunks = [json.loads(d) for d in frames(post(server, request(stream=True)))[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == reason


INVALID = [
    ({}, None, 401, "1001"),
    ({}, {"Authorization": "Basic abc"}, 401, "1001"),
    ({"model": "glm-99"}, AUTH, 400, "1211"),
    ({"messages": [{"role": "system", "content": "s"}]}, AUTH, 400, "1214"),
    ({"temperature": 1.2}, AUTH, 400, "1214"),
    ({"messages": USER + [{"role": "assistant", "content": "", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "read_file", "arguments": {"path": "a"}}}]}]},
     AUTH, 400, "1210"),
]


@pytest.mark.parametrize("fields,headers,status,code", INVALID)
def test_requests_are_validated_like_the_service(fields, headers, status, code):
    with StandIn([Reply(content="never")]) as server:
        response = post(server, request(**fields), headers=headers or {})
        assert server.remaining == 1 and len(server.requests) == 1
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_api_key_option_rejects_other_keys():
    with StandIn([Reply(content="ok")], api_key="right") as server:
        wrong = post(server, request(), headers={"Authorization": "Bearer wrong"})
        right = post(server, request(), headers={"Authorization": "Bearer right"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "1002" and right.status_code == 200


def test_cached_tokens_follow_the_longest_common_prefix():
    system = {"role": "system", "content": "s" * 4000}
    with StandIn(responder=lambda body: Reply(content="ok")) as server:
        first = post(server, request(messages=[system, *USER])).json()["usage"]
        second = post(server, request(messages=[system, *USER, {"role": "assistant", "content": "ok"},
                                                {"role": "user", "content": "more"}])).json()["usage"]
        other = post(server, request(messages=[{"role": "user", "content": "unrelated"}])).json()["usage"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    assert first["prompt_tokens"] >= 1000  # ~ chars / 4
    assert second["prompt_tokens_details"]["cached_tokens"] >= first["prompt_tokens"] - 2
    assert second["prompt_tokens_details"]["cached_tokens"] < second["prompt_tokens"]
    assert other["prompt_tokens_details"]["cached_tokens"] < 10
    assert server.usages == [first, second, other]  # what each reply reported, public for the bench


def test_responder_sees_each_request_and_requests_are_recorded():
    seen = []

    def responder(body):
        seen.append(len(body["messages"]))
        return Reply(content=f"turn {len(seen)}")

    with StandIn(responder=responder) as server:
        post(server, request())
        post(server, request(messages=USER * 3))
        assert [len(r["messages"]) for r in server.requests] == [1, 3] == seen


def test_script_exhaustion_is_a_clear_500_and_fails_the_test_loudly():
    server = StandIn([])
    with pytest.raises(AssertionError, match="script exhausted"):
        with server:
            response = post(server, request())
            assert response.status_code == 500 and "script exhausted" in response.json()["error"]["message"]
    assert server.failures


def test_raw_mode_serves_exact_bytes_in_the_given_chunks():
    body = 'data: {"x":"é"}\n\ndata: [DONE]\n\n'.encode()
    with StandIn([Raw(body, chunks=[3, 11, 1, 1])]) as server:
        response = post(server, request(stream=True))
    assert response.content == body
    assert response.headers["content-type"].startswith("text/event-stream")


def test_latency_delays_the_answer():
    with StandIn([Reply(content="ok")], latency=0.3) as server:
        started = time.monotonic()
        post(server, request())
    assert time.monotonic() - started >= 0.3


def test_unknown_path_is_404():
    with StandIn([]) as server:
        assert post(server, request(), prefix="/api/nope").status_code == 404


def test_load_script_reads_replies_faults_and_raw(tmp_path):
    path = tmp_path / "script.json"
    path.write_text(json.dumps([
        {"content": "a", "reasoning": "r", "tool_calls": [{"name": "read_file", "arguments": {"path": "x"}}]},
        {"fault": {"kind": "http", "status": 429, "code": "1302"}},
        {"raw": {"body": "data: [DONE]\n\n"}},
    ]))
    reply, fault, raw = load_script(path)
    assert reply == Reply(content="a", reasoning="r", tool_calls=[("read_file", {"path": "x"})])
    assert fault == Fault.http(429, "1302") and raw.body == b"data: [DONE]\n\n"
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")


def test_module_cli_prints_base_url_and_serves_until_killed(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"content": "from a subprocess"}]))
    proc = subprocess.Popen([sys.executable, "-I", "-m", "glm_agent.testing", "--script", str(script), "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        base_url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/paas/v4", base_url)
        response = httpx.post(base_url + "/chat/completions", json=request(), headers=AUTH, timeout=10)
        assert response.json()["choices"][0]["message"]["content"] == "from a subprocess"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_tool_stream_variants_id_only_first_and_last_fragment_on_finish():
    reply = Reply(tool_calls=[("read_file", {"path": "src/deep/module.py"})])
    with StandIn([reply], fragment_style="on_finish") as server:
        chunks = [json.loads(d) for d in frames(post(server, request(stream=True, tools=TOOLS,
                                                                    tool_stream=True)))[:-1]]
    pieces = [c["choices"][0] for c in chunks if "tool_calls" in c["choices"][0]["delta"]]
    assert "id" in pieces[0]["delta"]["tool_calls"][0]
    assert all("id" not in p["delta"]["tool_calls"][0] for p in pieces[1:])
    assert pieces[-1]["finish_reason"] == "tool_calls" and "usage" not in chunks[-2]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls" and "usage" in chunks[-1]
    assert "".join(p["delta"]["tool_calls"][0]["function"]["arguments"] for p in pieces) == \
        '{"path":"src/deep/module.py"}'
    with pytest.raises(ValueError, match="fragment_style"):
        StandIn([], fragment_style="sideways")


def test_responder_returning_nonsense_is_reported_and_dicts_are_script_items():
    answers = iter([{"content": "from a dict"}, None])
    server = StandIn(responder=lambda body: next(answers))
    with pytest.raises(AssertionError, match="not a Reply"):
        with server:
            assert post(server, request()).json()["choices"][0]["message"]["content"] == "from a dict"
            assert post(server, request()).status_code == 500
    with StandIn([{"fault": {"kind": "http", "status": 429, "code": "1305"}}]) as server:
        assert post(server, request()).json()["error"]["code"] == "1305"
