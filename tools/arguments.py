"""Parse the raw tool-call argument string GLM sends into a dict, repairing only unambiguous damage."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from glm_agent.glm.markup import CALL, arg_pairs, decode_value

_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)
_HARMLESS_TAIL = re.compile(r"^(?:\s|[}\]]|</tool_call>|</arg_value>)*$")


class ArgumentError(ValueError):
    """The arguments cannot be read without guessing; the message says what is wrong and where."""


@dataclass(frozen=True)
class Parsed:
    """Arguments as a dict, and a note for the model when something had to be repaired."""

    args: dict
    note: str | None = None


def parse_arguments(raw: str | dict | None, string_fields: frozenset[str] = frozenset(), tool: str = "") -> Parsed:
    """Decode `raw`; `string_fields` are properties the schema types as strings (kept verbatim from XML)."""
    if isinstance(raw, dict):
        return Parsed(raw)
    if raw is not None and not isinstance(raw, str):
        raise ArgumentError(f"arguments must be a JSON object string, got {type(raw).__name__}.")
    text = (raw or "").strip()
    if not text:
        return Parsed({})
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if "<arg_key>" in text or text.startswith("<tool_call>"):
        return _from_xml(text, string_fields, tool)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return _from_damaged_json(text, exc)
    return Parsed(_as_object(value), "arguments were wrapped in a markdown fence" if fenced else None)


def _as_object(value) -> dict:
    if isinstance(value, str):
        try:
            inner = json.loads(value)
        except json.JSONDecodeError:
            inner = None
        if isinstance(inner, dict):
            return inner
    if not isinstance(value, dict):
        raise ArgumentError(f"arguments must be a JSON object like {{\"name\": value}}, got {type(value).__name__}.")
    return value


def _from_damaged_json(text: str, error: json.JSONDecodeError) -> Parsed:
    decoder = json.JSONDecoder()
    try:
        first, end = decoder.raw_decode(text)
    except json.JSONDecodeError:
        raise ArgumentError(_describe(text, error)) from None
    objects, pos = [first], end
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text) or text[pos] != "{":
            break
        try:
            more, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
        objects.append(more)
    rest = text[pos:]
    if len(objects) > 1:
        if any(obj != first for obj in objects[1:]):
            raise ArgumentError(
                f"arguments contain {len(objects)} different JSON objects back to back; a tool call takes exactly "
                "one object. Make one call per object."
            )
        if rest and not _HARMLESS_TAIL.match(rest):
            raise ArgumentError(f"unexpected text after the JSON object: {_snippet(rest)}")
        return Parsed(_as_object(first), f"arguments repeated the same JSON object {len(objects)} times; used one")
    if _HARMLESS_TAIL.match(rest):
        return Parsed(_as_object(first), "ignored stray closing characters after the JSON object")
    raise ArgumentError(
        f"unexpected text after the JSON object at char {end}: {_snippet(rest)}. Send exactly one JSON object."
    )


def _from_xml(text: str, string_fields: frozenset[str], tool: str) -> Parsed:
    match = CALL.search(text)
    if match and match.group(1) and tool and match.group(1) != tool:
        raise ArgumentError(
            f"arguments contain a <tool_call> for '{match.group(1)}' inside a call to '{tool}'; call tools with "
            "JSON arguments."
        )
    args = _xml_pairs(match.group(2) if match else text, string_fields)
    if not args and "<arg_key>" in text:
        raise ArgumentError("arguments contain <arg_key> tags without matching <arg_value> pairs; send JSON.")
    return Parsed(args, "arguments came as <arg_key>/<arg_value> tags instead of JSON and were converted; send JSON")


def _xml_pairs(body: str, string_fields: frozenset[str]) -> dict:
    args: dict = {}
    for key, value in arg_pairs(body):
        if key in args:
            raise ArgumentError(f"argument '{key}' is given twice in <arg_key> tags; which one is meant is unclear.")
        args[key] = decode_value(value, key in string_fields)
    return args


def _describe(text: str, error: json.JSONDecodeError) -> str:
    start = max(0, error.pos - 30)
    near = text[start : error.pos + 30]
    return f"arguments are not valid JSON: {error.msg} at char {error.pos}, near {near!r}."


def _snippet(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 60 else text[:60] + "...")
