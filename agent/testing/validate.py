"""Request validation as the real service does it: returns (HTTP status, business code, message) or None.

Deliberately shares no code with the client's own hygiene checks (glm_agent.glm.request): the stand-in models the
remote service, so a mistake in the client's checks cannot hide in both places.
"""
from __future__ import annotations

import re

KNOWN_MODELS = frozenset({
    "glm-4.6", "glm-4.5", "glm-4.5-air", "glm-4.5-x", "glm-4.5-airx", "glm-4.5-flash", "glm-4.7", "glm-4.7-flash",
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
    """Mirror the service's 400s: 1211 unknown model, 1214 invalid field, 1210 invalid parameter."""
    if not isinstance(body, dict):
        return 400, "1210", "Invalid API parameter, please check the documentation."
    if models is not None and body.get("model") not in models:
        return 400, "1211", "Unknown Model, please check the model code."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return _ILLEGAL_MESSAGES
    if not any(m.get("role") == "user" for m in messages):
        return _ILLEGAL_MESSAGES
    for message in messages:
        for call in message.get("tool_calls") or []:
            if not isinstance((call.get("function") or {}).get("arguments"), str):
                return 400, "1210", "Invalid API parameter, please check the documentation."
        if message.get("role") == "tool" and not message.get("tool_call_id"):
            return _ILLEGAL_MESSAGES
    return _check_fields(body)


def _check_fields(body: dict) -> Problem | None:
    def invalid(field: str) -> Problem:
        return 400, "1214", f"Invalid field: {field}"

    if body.get("tool_choice", "auto") != "auto":
        return invalid("tool_choice")
    temperature, top_p = body.get("temperature"), body.get("top_p")
    if temperature is not None and not (isinstance(temperature, (int, float)) and 0 <= temperature <= 1):
        return invalid("temperature")
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0.01 <= top_p <= 1):
        return invalid("top_p")
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and not (isinstance(max_tokens, int) and 1 <= max_tokens <= 131072):
        return invalid("max_tokens")
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and (not isinstance(stop, list) or len(stop) > 1):
        return invalid("stop")
    tools = body.get("tools") or []
    if len(tools) > 128:
        return invalid("tools")
    for tool in tools:
        name = (tool.get("function") or {}).get("name", "") if isinstance(tool, dict) else ""
        if not _TOOL_NAME.match(str(name)):
            return invalid("tools.function.name")
    return None
