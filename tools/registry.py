"""The Toolset: typed tools registered by name, their wire schemas, and a dispatch that never raises."""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Callable

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.json_schema import GenerateJsonSchema

from tools.arguments import ArgumentError, parse_arguments
from tools.base import EndRun, ToolError, ToolResult

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class ToolArgs(BaseModel):
    """Base of every argument model: its docstring is the tool description, unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class _QuietSchema(GenerateJsonSchema):
    """Schemas without titles, and optional values typed as their plain type (vLLM coerces anyOf/null)."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def nullable_schema(self, schema):
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema):
        out = super().default_schema(schema)
        if out.get("default", 0) is None:
            out.pop("default")
        return out


@dataclass(frozen=True)
class Tool:
    """One model-callable tool: its wire name, argument model and implementation."""

    name: str
    args: type[ToolArgs]
    run: Callable[[ToolArgs], "str | ToolResult"]

    def schema(self) -> dict:
        parameters = self.args.model_json_schema(schema_generator=_QuietSchema)
        parameters.pop("title", None)
        description = " ".join((parameters.pop("description", None) or "").split())
        return {"type": "function", "function": {"name": self.name, "description": description, "parameters": parameters}}


def _string_fields(parameters: dict) -> frozenset[str]:
    return frozenset(key for key, prop in parameters.get("properties", {}).items() if prop.get("type") == "string")


def _signature(name: str, parameters: dict) -> str:
    """The call as the model should write it, e.g. `read_file(path: string, limit: integer = 2000)`."""
    required = set(parameters.get("required", []))
    parts = []
    for key, prop in parameters.get("properties", {}).items():
        kind = prop.get("type", "any") + (f" of {prop['items']['type']}" if "items" in prop else "")
        if "default" in prop:
            kind += f" = {json.dumps(prop['default'])}"
        elif key not in required:
            kind += " (optional)"
        parts.append(f"{key}: {kind}")
    return f"{name}({', '.join(parts)})"


class Toolset:
    """Tools in a fixed order; dispatch turns every model-fixable problem into an error result."""

    def __init__(self, tools: list[Tool], changed_paths: Callable[[], list[str]],
                 close: Callable[[], object] = lambda: None):
        for tool in tools:
            if not _NAME.match(tool.name):
                raise ValueError(f"invalid tool name {tool.name!r}")
        self._tools = {tool.name: tool for tool in tools}
        self._changed_paths = changed_paths
        self._close = close
        self._schemas = [tool.schema() for tool in tools]  # each generated once: pydantic schema building is slow
        params = {schema["function"]["name"]: schema["function"]["parameters"] for schema in self._schemas}
        self._strings = {name: _string_fields(p) for name, p in params.items()}
        self._signatures = {name: _signature(name, p) for name, p in params.items()}

    def schemas(self) -> list[dict]:
        """The wire tool list; one shared list (the loop sends it every step), so callers must not mutate it."""
        return self._schemas

    def names(self) -> list[str]:
        return list(self._tools)

    def changed_paths(self) -> list[str]:
        return self._changed_paths()

    def close(self) -> None:
        """Stop what the run's commands left running in the background (also done when the toolset is collected)."""
        self._close()

    def dispatch(self, name: str, arguments: str | None) -> ToolResult:
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(self._unknown(name), is_error=True, malformed=True)
        try:
            parsed = parse_arguments(arguments, self._strings[name], name)
        except ArgumentError as exc:
            return self._invalid(name, str(exc), malformed=True)
        fields = tool.args.model_fields
        given = {key: value for key, value in parsed.args.items()  # null for an optional field means its default
                 if not (value is None and key in fields and not fields[key].is_required())}
        try:
            args = tool.args.model_validate(given)
        except ValidationError as exc:
            return self._invalid(name, _explain(exc, tool.args))
        try:
            outcome = tool.run(args)
        except ToolError as exc:
            return ToolResult(f"Error: {exc}", is_error=True)
        except EndRun:
            raise
        except Exception as exc:  # a tool bug must not kill the run; the model may route around it
            return ToolResult(f"Error: {name} failed unexpectedly: {type(exc).__name__}: {exc}", is_error=True)
        result = outcome if isinstance(outcome, ToolResult) else ToolResult(outcome)
        text = f"{result.text}\n(note: {parsed.note})" if parsed.note else result.text
        # undecodable bytes kept as surrogates (edit_file, git output) cannot be sent as UTF-8 JSON
        text = text.encode("utf-8", "replace").decode("utf-8")
        return ToolResult(text, result.is_error, result.finish_summary)

    def _invalid(self, name: str, problem: str, *, malformed: bool = False) -> ToolResult:
        return ToolResult(f"Invalid arguments for {name}: {problem}\nExpected: {self._signatures[name]}", is_error=True,
                          malformed=malformed)

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), list(self._tools), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"Unknown tool '{name}'.{hint} Available tools: {', '.join(self._tools)}."


def _explain(error: ValidationError, model: type[ToolArgs]) -> str:
    fields = model.model_fields
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        kind = item["type"]
        if kind == "missing":
            problems.append(f"missing required field '{field}'")
        elif kind == "extra_forbidden":
            problems.append(f"unknown field '{field}' (this tool takes: {', '.join(fields)})")
        else:
            problems.append(f"field '{field}': {item['msg']} (got {_short(item.get('input'))})")
    return "; ".join(problems) + "."


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
