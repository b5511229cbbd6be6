"""GLM's raw tool-call template text, `<tool_call>NAME<arg_key>K</arg_key><arg_value>V</arg_value>...</tool_call>`:
the one parser of it, for calls leaked into the answer's content and for arguments sent in that form.

The server normally turns the markup into `tool_calls`, but sometimes (glm-api.md section 8, quirk 12) the text
reaches the client as content with finish_reason "stop", or inside a call's arguments. Decoding follows vLLM's
glm45 parser: a value is JSON-decoded unless the tool's schema declares that property a string.
"""
from __future__ import annotations

import json
import re

CALL = re.compile(r"<tool_call>\s*([^<\s]*)\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_ARG = re.compile(r"<arg_key>\s*(.*?)\s*</arg_key>\s*<arg_value>(.*?)</arg_value>", re.S)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def arg_pairs(body: str) -> list[tuple[str, str]]:
    """The (key, raw value) pairs of a call's body, in order, duplicates kept."""
    return _ARG.findall(body)


def decode_value(raw: str, is_string: bool) -> object:
    """A value as the tool expects it: verbatim for a string property, else JSON when it parses, else the text."""
    if is_string:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_leaked_calls(content: str, tools: list[dict] | None) -> tuple[str, list[tuple[str, str]]]:
    """(content without the call markup, [(name, JSON arguments)]); no calls found -> (content, [])."""
    if "<tool_call>" not in content:
        return content, []
    schemas = {t["function"]["name"]: t["function"].get("parameters") or {}
               for t in tools or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)}
    calls = []
    for match in CALL.finditer(content):
        name, body = match.group(1), match.group(2)
        if not _NAME.match(name) or name not in schemas:
            return content, []  # not a call we could run: leave the text for the model to see (and the nudge)
        properties = schemas[name].get("properties") or {}
        arguments = {key: decode_value(raw, (properties.get(key) or {}).get("type") == "string")
                     for key, raw in arg_pairs(body)}
        calls.append((name, json.dumps(arguments, ensure_ascii=False)))
    return CALL.sub("", content).rstrip(), calls
