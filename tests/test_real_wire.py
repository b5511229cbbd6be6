"""Every recorded real GLM exchange, replayed byte-exact over loopback through GLMClient.

Each fixture's response body is served by the stand-in in raw mode, cut at the recorded network-read
boundaries when known. The parsed turn is checked against a deliberately naive parse done here and against
the fixture's own `exercises` block; error fixtures must raise the typed exception of their business code.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from glm_agent import GLMClient
from glm_agent.glm import errors
from glm_agent.testing import Raw, StandIn
from helpers import SHARED, need

FIXTURES = SHARED / "fixtures" / "real-wire"
FILES = sorted(p for p in FIXTURES.glob("*.json") if p.name != "index.json") if FIXTURES.is_dir() else []


def test_the_recordings_are_there():
    """Without the recordings every test below has nothing to replay: skip on a user's machine, fail in CI."""
    need(bool(FILES), f"the real-wire recordings at {FIXTURES}")

# glm-api.md section 5, written out here independently of glm_agent.glm.errors.
EXPECTED_ERROR = {
    "1113": errors.QuotaError, "1308": errors.QuotaError, "1311": errors.QuotaError,
    "1302": errors.RateLimitError, "1210": errors.BadRequestError, "1214": errors.BadRequestError,
    "429": errors.RateLimitError,
}

CONTENT_SHAPES = {
    "missing": lambda c: c is None, "null": lambda c: c is None, "empty": lambda c: c == "",
    "whitespace": lambda c: bool(c) and not c.strip(), "text": lambda c: bool(c and c.strip()),
}


def naive_parse(response: dict) -> dict:
    """The simplest reading of a body: what the turn must contain."""
    if response["kind"] == "json":
        body = json.loads(response["body"])
        choice = body["choices"][0]
        message = choice["message"]
        calls = [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or []]
        return {"content": message.get("content") or "", "finish": choice["finish_reason"], "calls": calls,
                "reasoning": message.get("reasoning_content") or message.get("reasoning") or "",
                "usage": body.get("usage")}
    content = reasoning = ""
    finish = usage = None
    slots: dict = {}
    for event in response["body"].split("\n\n"):
        payload = "".join(line[len("data: "):] for line in event.split("\n") if line.startswith("data: "))
        if not payload or payload == "[DONE]":
            continue
        chunk = json.loads(payload)
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content += delta.get("content") or ""
            reasoning += delta.get("reasoning_content") or delta.get("reasoning") or ""
            finish = choice.get("finish_reason") or finish
            for call in delta.get("tool_calls") or []:
                slot = slots.setdefault(call.get("index"), {"id": "", "name": "", "args": ""})
                slot["id"] = slot["id"] or call.get("id") or ""
                slot["name"] = slot["name"] or (call.get("function") or {}).get("name") or ""
                slot["args"] += (call.get("function") or {}).get("arguments") or ""
    calls = [(s["id"], s["name"], s["args"]) for _, s in sorted(slots.items())]
    return {"content": content, "finish": finish, "calls": calls, "reasoning": reasoning, "usage": usage}


@pytest.fixture(scope="module")
def replayer():
    """One stand-in for the module; each test queues its fixture's raw response and replays it."""
    queue: list[Raw] = []
    clients: dict[tuple[str, str], GLMClient] = {}
    with StandIn(responder=lambda body: queue.pop(0), models=None) as server:
        def replay(fixture: dict):
            response = fixture["response"]
            content_type = (response.get("headers") or {}).get("content-type")
            queue.append(Raw(response["body"].encode("utf-8"), chunks=response.get("transport_chunk_byte_lengths"),
                             status=response["status"], content_type=content_type))
            dialect = "openai" if fixture["route"] == "openrouter" else "zai"
            key = (fixture["model"], dialect)
            if key not in clients:
                clients[key] = GLMClient(server.base_url, api_key="replay-key", model=fixture["model"],
                                         dialect=dialect, max_retries=0)
            return clients[key].complete([{"role": "user", "content": "replay"}], stream=response["kind"] == "sse")

        yield replay
        for client in clients.values():
            client.close()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fixture_replays_to_the_right_turn(path: Path, replayer):
    fixture = json.loads(path.read_text(encoding="utf-8"))
    response, exercises = fixture["response"], fixture["exercises"]
    if response["status"] != 200:
        body = json.loads(response["body"])
        code = str((body.get("error") or body)["code"])
        with pytest.raises(EXPECTED_ERROR[code]) as caught:
            replayer(fixture)
        assert caught.value.code == code and caught.value.status == response["status"]
        return
    turn = replayer(fixture)
    expected = naive_parse(response)
    assert (turn.content or "") == expected["content"]
    assert (turn.reasoning_content or "") == expected["reasoning"]
    assert [(c.id, c.name, c.arguments) for c in turn.tool_calls] == expected["calls"]
    assert turn.finish_reason == expected["finish"] == exercises["finish_reasons"][-1]
    assert len(turn.tool_calls) == exercises.get("tool_calls", 0)
    assert bool(turn.reasoning_content) == exercises["reasoning"]
    assert bool(turn.content) == exercises["content"]
    shape = exercises.get("message_content")  # JSON bodies only
    if shape:
        assert CONTENT_SHAPES[shape](turn.content), (shape, turn.content)
    usage = expected["usage"]
    assert bool(usage) == exercises["usage"]
    if usage:
        assert turn.usage.prompt_tokens == usage["prompt_tokens"]
        assert turn.usage.completion_tokens == usage["completion_tokens"]
        assert turn.usage.total_tokens == usage["total_tokens"]
        assert turn.usage.cached_tokens == exercises.get("cached_tokens", 0)
        assert turn.cost_usd >= 0
    if fixture["route"] == "zai-direct":
        assert turn.request_id and turn.request_id[:14].isdigit()
    for call in turn.tool_calls:
        if turn.finish_reason == "tool_calls":
            json.loads(call.arguments)  # complete calls carry valid JSON
