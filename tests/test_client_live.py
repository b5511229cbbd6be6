"""Opt-in checks against the real GLM service: run with GLM_AGENT_LIVE=1 and ZAI_API_KEY set (costs cents).

Skipped by default (tests stay offline). The key is read at collection time, before the autouse fixture
in conftest removes it from the environment of every test.
"""
from __future__ import annotations

import json
import os

import pytest
from glm_agent import GLMClient

LIVE_KEY = os.environ.get("ZAI_API_KEY") if os.environ.get("GLM_AGENT_LIVE") == "1" else None
ENDPOINT = os.environ.get("GLM_AGENT_LIVE_ENDPOINT", "general")

pytestmark = [pytest.mark.live, pytest.mark.skipif(not LIVE_KEY, reason="live GLM test: set GLM_AGENT_LIVE=1 "
                                                                        "and ZAI_API_KEY to run")]

TOOLS = [{"type": "function", "function": {
    "name": "add", "description": "Add two integers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                   "required": ["a", "b"]}}}]
ASK = [{"role": "user", "content": "Use the add tool to add 2 and 3. Call the tool; do not answer in text."}]


@pytest.mark.parametrize("stream", [True, False])
def test_real_service_tool_call_round_trip(stream):
    with GLMClient(api_key=LIVE_KEY, endpoint=ENDPOINT, max_tokens=2048) as client:
        turn = client.complete(ASK, TOOLS, stream=stream)
        assert turn.finish_reason == "tool_calls" and turn.tool_calls
        call = turn.tool_calls[0]
        assert call.name == "add" and json.loads(call.arguments) == {"a": 2, "b": 3}
        assert turn.usage.prompt_tokens > 0 and turn.cost_usd > 0 and turn.request_id
        history = ASK + [turn.to_message(), {"role": "tool", "tool_call_id": call.id, "content": "5"}]
        final = client.complete(history, TOOLS, stream=stream)
    assert final.finish_reason == "stop" and "5" in (final.content or "")
