"""The GLM chat-completions request: a body with only the documented fields, and what GLM would reject in it.

Nothing here imports pydantic, so the first request goes out before any response model is loaded: answers are
read by glm_agent.glm.response, and each client checks and encodes its bodies with glm_agent.glm.encoder.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from glm_agent.glm.errors import BadRequestError

MAX_TOOLS = 128
MAX_OUTPUT_TOKENS = 131072
ROLES = {"system", "user", "assistant", "tool"}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def thinking_fields(dialect: str, thinking: bool | str | None) -> dict:
    """The provider-specific thinking switch: Z.ai `thinking`, vLLM/SGLang `chat_template_kwargs`."""
    if thinking is None:
        return {}
    enabled = thinking in (True, "enabled")
    if dialect == "zai":
        return {"thinking": {"type": "enabled" if enabled else "disabled"}}
    return {"chat_template_kwargs": {"enable_thinking": enabled}}


def build_request(*, model: str, messages: list[dict], tools: list[dict] | None, stream: bool, dialect: str,
                  thinking: bool | str | None, tool_stream: bool, temperature: float | None,
                  top_p: float | None, max_tokens: int | None, stop: str | list[str] | None,
                  extra: dict | None = None) -> dict:
    """The request body with only the documented fields for the dialect (checked as it is encoded).

    `max_tokens` None leaves the field out: GLM then applies its own (undocumented) default; recordings show
    it answers such requests (e.g. fixture zai-glm45-coding_fantasy_thinking_stream_turn1_20251111)."""
    body: dict[str, Any] = {"model": model, "messages": messages}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if tools:
        body["tools"] = tools
        body["tool_choice"] = "auto"
    if stream:
        body["stream"] = True
        if dialect == "zai" and tools and tool_stream and not model.lower().startswith("glm-4.5"):
            body["tool_stream"] = True
        if dialect == "openai":
            body["stream_options"] = {"include_usage": True}
    body.update(thinking_fields(dialect, thinking))
    if temperature is not None:
        body["temperature"] = temperature
    if top_p is not None:
        body["top_p"] = top_p
    if stop:
        body["stop"] = [stop] if isinstance(stop, str) else list(stop)
    body.update(extra or {})
    return body


def rejected(problem: str) -> BadRequestError:
    """The error for a request refused locally: one GLM itself refuses (see the source beside each rule)."""
    return BadRequestError(f"request not sent: {problem}", code="local")


# The pre-flight rules below refuse only what GLM itself refuses: each rule names its source, a section of the
# GLM wire reference glm-api.md (with the OpenAPI limits it quotes) or a fixture of shared/fixtures/real-wire.
# Everything else is sent. Rules the recordings contradict were dropped (the real service answered 200):
# - a tool message without tool_call_id (e.g. zai-glm45-coding_reqllm_tool_roundtrip_turn2_20251014, 20 such);
# - tool_choice other than "auto": the named form {"type":"function","function":{"name":...}} (e.g.
#   zai-glm45-coding_fantasy_object_simple_20251108, 16 such; glm-api.md section 2 calls a refusal unverified);
# - a body without max_tokens (e.g. zai-glm45-coding_fantasy_thinking_stream_turn1_20251111, 24 such).
# tests/test_real_wire_requests.py sends every recorded request through the client to keep it that way.


def options_problem(body: dict) -> str | None:
    """What is wrong with the sampling fields, checked before the tools and the messages."""
    temperature, top_p, max_tokens = body.get("temperature"), body.get("top_p"), body.get("max_tokens")
    # glm-api.md section 2 `temperature`: [0.0, 1.0], out-of-range values give 400 / 1214.
    if temperature is not None and not 0.0 <= temperature <= 1.0:
        return f"temperature must be in [0, 1] for GLM, got {temperature}"
    # glm-api.md section 2 `top_p`: the OpenAPI range [0.01, 1.0].
    if top_p is not None and not 0.01 <= top_p <= 1.0:
        return f"top_p must be in [0.01, 1], got {top_p}"
    # glm-api.md section 2 `max_tokens`: the OpenAPI range, an int in [1, 131072] (when sent at all: see above).
    if max_tokens is not None and (not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_OUTPUT_TOKENS):
        return f"max_tokens must be an int in [1, {MAX_OUTPUT_TOKENS}], got {max_tokens!r}"
    # glm-api.md section 2 `stop`: the OpenAPI maxItems 1 ("only one stop word is supported").
    if len(body.get("stop") or []) > 1:
        return "GLM supports at most one stop word"
    return None


def tools_problem(tools: list) -> str | None:
    """What is wrong with the tool list: too many tools, or a function name GLM refuses."""
    # glm-api.md section 2 `tools`: the OpenAPI maxItems 128.
    if len(tools) > MAX_TOOLS:
        return f"GLM accepts at most {MAX_TOOLS} tools, got {len(tools)}"
    for tool in tools:
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue  # retrieval / web_search tools carry no function
        function = tool.get("function")
        # glm-api.md section 2 `tools`: a function tool is {"type":"function","function":{...}}.
        if not isinstance(function, dict):
            return f"tool without a function definition: {tool!r:.80}"
        name = function.get("name", "")
        # glm-api.md section 2 `tools`: the OpenAPI pattern ^[a-zA-Z0-9_-]+$, at most 64 characters.
        if not _TOOL_NAME.match(str(name)):
            return f"tool name {name!r} must match ^[a-zA-Z0-9_-]{{1,64}}$"
    return None


def messages_problem(messages: Any, positions: Iterable[int]) -> str | None:
    """What is wrong with the history: the messages at `positions` (ascending) are checked one by one, the rules
    across messages always; the first problem found is the one reported."""
    # glm-api.md section 2 `messages`: an array, OpenAPI minItems 1.
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    for i in positions:
        message = messages[i]
        role = message.get("role") if isinstance(message, dict) else None
        # glm-api.md section 2 `messages`: the OpenAPI roles system, user, assistant, tool.
        if role not in ROLES:
            return f"message {i} has role {role!r}; expected one of {sorted(ROLES)}"
        # glm-api.md section 8 quirk 13: tool-call arguments replayed other than as a JSON string give 400 / 1210
        # (fixture zai-glm46-coding_quoted_error_invalid_parameter_1210_http400_20251015).
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance((function or {}).get("arguments"), str):
                return f"assistant message {i}: tool call arguments must be a JSON string"
    # glm-api.md sections 2 and 8 quirk 14: no user message gives "The messages parameter is illegal" (400 / 1214,
    # fixture zai-glm52-paas_quoted_error_messages_illegal_1214_http400_20260912).
    if not any(m["role"] == "user" for m in messages):  # stops at the first user message: index 1 in a run
        return "GLM needs at least one user message (it rejects system/assistant-only input)"
    return None
