"""Request validation as the real service does it: returns (HTTP status, business code, message) or None.

Deliberately shares no code with the client's own hygiene checks (glm_agent.glm.request): the stand-in models the
remote service, so a mistake in the client's checks cannot hide in both places.
"""
from __future__ import annotations

import re

# glm-api.md section 2 `model`, plus the vision models the recordings show Z.ai answering (glm-4.5v, glm-4.6v,
# glm-4.6v-flash: e.g. fixture zai-glm46v-paas_fantasy_tool_turn2_20251111).
KNOWN_MODELS = frozenset({
    "glm-4.6", "glm-4.5", "glm-4.5-air", "glm-4.5-x", "glm-4.5-airx", "glm-4.5-flash", "glm-4.7", "glm-4.7-flash",
    "glm-4.5v", "glm-4.6v", "glm-4.6v-flash",
})
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
Problem = tuple[int, str, str]

_ILLEGAL_MESSAGES = (400, "1214", "The messages parameter is illegal. Please check the documentation.")


def check_auth(header: str | None, api_key: str | None) -> Problem | None:
    if not header or not header.startswith("Bearer ") or not header[7:].strip():
        return 401, "1001", "Header has no Authorization parameter"
    if api_key is not None and header[7:] != api_key:
        return 401, "1002", "Authorization Token is invalid, please check and try again"
    return None


def check_body(body: object, models: frozenset[str] | None) -> Problem | None:
    """Mirror the service's 400s: 1211 unknown model, 1214 invalid field, 1210 invalid parameter.

    Each rule names its source (a glm-api.md section or a fixture of shared/fixtures/real-wire); a request the
    real service answered is never refused (tests/test_real_wire_requests.py). Not refused, as recordings show
    the service answering them: a tool message without tool_call_id (zai-glm45-coding_reqllm_tool_roundtrip_
    turn2_20251014), a named tool_choice (zai-glm45-coding_fantasy_object_simple_20251108), no max_tokens."""
    if not isinstance(body, dict):  # glm-api.md section 5: 400 / 1210 invalid API parameter
        return 400, "1210", "Invalid API parameter, please check the documentation."
    # glm-api.md section 2 `model`: unknown model gives 400 / 1211 (cline#6099)
    if models is not None and body.get("model") not in models:
        return 400, "1211", "Unknown Model, please check the model code."
    messages = body.get("messages")
    # glm-api.md section 2 `messages` (minItems 1); the message of fixture
    # zai-glm52-paas_quoted_error_messages_illegal_1214_http400_20260912
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return _ILLEGAL_MESSAGES
    # glm-api.md sections 2 and 8 quirk 14: no user message, "The messages parameter is illegal" (opencode#2557)
    if not any(m.get("role") == "user" for m in messages):
        return _ILLEGAL_MESSAGES
    for message in messages:
        # glm-api.md section 8 quirk 13: invalid replayed arguments give 400 / 1210
        # (fixture zai-glm46-coding_quoted_error_invalid_parameter_1210_http400_20251015)
        for call in message.get("tool_calls") or []:
            if not isinstance((call.get("function") or {}).get("arguments"), str):
                return 400, "1210", "Invalid API parameter, please check the documentation."
    return _check_fields(body)


def _check_fields(body: dict) -> Problem | None:
    def invalid(field: str) -> Problem:
        return 400, "1214", f"Invalid field: {field}"

    temperature, top_p = body.get("temperature"), body.get("top_p")
    # glm-api.md section 2 `temperature`: [0.0, 1.0], out of range gives 400 / 1214
    if temperature is not None and not (isinstance(temperature, (int, float)) and 0 <= temperature <= 1):
        return invalid("temperature")
    # glm-api.md section 2 `top_p`: the OpenAPI range [0.01, 1.0]
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0.01 <= top_p <= 1):
        return invalid("top_p")
    max_tokens = body.get("max_tokens")
    # glm-api.md section 2 `max_tokens`: the OpenAPI range, an int in [1, 131072]; may be left out (recordings)
    if max_tokens is not None and not (isinstance(max_tokens, int) and 1 <= max_tokens <= 131072):
        return invalid("max_tokens")
    stop = body.get("stop")
    # glm-api.md section 2 `stop`: the OpenAPI maxItems 1
    if stop is not None and not isinstance(stop, str) and (not isinstance(stop, list) or len(stop) > 1):
        return invalid("stop")
    tools = body.get("tools") or []
    # glm-api.md section 2 `tools`: the OpenAPI maxItems 128
    if len(tools) > 128:
        return invalid("tools")
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") != "function":
            continue  # glm-api.md section 2: retrieval and web_search tools carry no function name
        name = (tool.get("function") or {}).get("name", "") if isinstance(tool, dict) else ""
        # glm-api.md section 2 `tools`: the OpenAPI pattern ^[a-zA-Z0-9_-]+$, at most 64 characters
        if not _TOOL_NAME.match(str(name)):
            return invalid("tools.function.name")
    return None
