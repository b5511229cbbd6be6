"""MCP tools under GLM's function rules: names mcp__SERVER__TOOL within ^[a-zA-Z0-9_-]{1,64}$, object schemas."""
from __future__ import annotations

import copy
import hashlib
import re

_BAD = re.compile(r"[^a-zA-Z0-9_-]")
_MAX_NAME = 64
_MAX_DESCRIPTION = 2000


def wire_name(server: str, tool: str, taken: set[str]) -> str:
    """`mcp__SERVER__TOOL` with every character GLM refuses made `_`; too long or already taken, it is cut and
    given a short hash of the real names, so distinct tools keep distinct, stable names."""
    name = f"mcp__{_BAD.sub('_', server)}__{_BAD.sub('_', tool)}"
    if len(name) <= _MAX_NAME and name not in taken:
        return name
    digest = hashlib.sha1(f"{server}\0{tool}".encode()).hexdigest()[:8]
    return f"{name[:_MAX_NAME - 9]}_{digest}"


def wire_schema(name: str, description: str | None, input_schema: dict | None) -> dict:
    """The function GLM is offered: the server's input schema as an object schema (no `$schema`, no root title)."""
    parameters = copy.deepcopy(input_schema) if isinstance(input_schema, dict) else {}
    for key in ("$schema", "title"):
        parameters.pop(key, None)
    if parameters.get("type") != "object":
        parameters = {"type": "object", "properties": {}, **({"description": str(input_schema)} if input_schema else {})}
    parameters.setdefault("properties", {})
    text = " ".join((description or "").split())
    if len(text) > _MAX_DESCRIPTION:
        text = text[:_MAX_DESCRIPTION - 3] + "..."
    return {"type": "function", "function": {"name": name, "description": text, "parameters": parameters}}
