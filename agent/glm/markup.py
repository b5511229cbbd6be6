"""Recover tool calls that GLM leaked as its raw `<tool_call>` template text into the answer's content.

GLM-4.x writes calls as `<tool_call>NAME<arg_key>K</arg_key><arg_value>V</arg_value>...</tool_call>`; the
server normally turns that into `tool_calls`, but sometimes (glm-api.md section 8, quirk 12) the text reaches
the client as content with finish_reason "stop". Decoding follows vLLM's glm45 parser: a value is JSON-decoded
unless the tool's schema declares that property a string.
"""
from __future__ import annotations

import json
import re

_CALL = re.compile(r"<tool_call>\s*([A-Za-z0-9_-]{1,64})\s*(.*?)(?:</tool_call>|$)", re.S)
_ARG = re.compile(r"<arg_key>\s*(.*?)\s*</arg_key>\s*<arg_value>(.*?)</arg_value>", re.S)


def parse_leaked_calls(content: str, tools: list[dict] | None) -> tuple[str, list[tuple[str, str]]]:
    """(content without the call markup, [(name, JSON arguments)]); no calls found -> (content, [])."""
    if "<tool_call>" not in content:
        return content, []
    schemas = {t["function"]["name"]: t["function"].get("parameters") or {}
               for t in tools or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)}
    calls = []
    for match in _CALL.finditer(content):
        name, body = match.group(1), match.group(2)
        if name not in schemas:
            return content, []  # not a call we could run: leave the text for the model to see (and the nudge)
        properties = schemas[name].get("properties") or {}
        arguments = {key: _value(raw, properties.get(key) or {}) for key, raw in _ARG.findall(body)}
        calls.append((name, json.dumps(arguments, ensure_ascii=False)))
    return _CALL.sub("", content).rstrip(), calls


def _value(raw: str, schema: dict) -> object:
    if schema.get("type") == "string":
        return raw
    try:
        return json.loads(raw.strip())
    except ValueError:
        return raw
