"""The Toolset: typed tools registered by name, their wire schemas, and a dispatch that never raises (the
built-in tools are bound to a workspace by glm_agent.tools.builtin.build_toolset)."""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

from glm_agent.tools.arguments import ArgumentError, parse_arguments
from glm_agent.tools.base import (
    EndRun,
    ToolError,
    ToolResult,
)
from glm_agent.tools.finish import FinishTool
from glm_agent.tools.plan import Plan

if TYPE_CHECKING:
    from glm_agent.tools.schemas import ToolArgs
    from pydantic import ValidationError

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Tool:
    """One model-callable tool: its wire name, argument model and implementation.

    `args` is the argument model (a glm_agent.tools.schemas.ToolArgs subclass), or a function of no arguments returning it:
    the toolset then calls it once, when the model is first needed (the tool's first dispatch, when the wire
    schemas come ready-made), so pydantic and the models need not load before the first request. A tool whose
    arguments its own server checks (MCP) has `args` None and its wire `schema`: `run` then gets the parsed dict."""

    name: str
    args: type[ToolArgs] | Callable[[], type[ToolArgs]] | None
    run: Callable[[ToolArgs], "str | ToolResult"]
    schema: dict | None = None


MAX_TOOLS = 128  # GLM refuses a request with more tools


class ToolsetError(ValueError):
    """Tools that cannot be offered together (a bad or repeated name, too many): a setup problem, not the model's."""


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
                 close: Callable[[], object] = lambda: None, schemas: list[dict] | None = None, *,
                 plan: Plan | None = None, finisher: FinishTool | None = None):
        """`schemas`: the tools' wire schemas made beforehand from their models, in the tools' order (build_toolset
        passes tools/schemas.json's); without them they are generated here, which loads every argument model.
        `plan` and `finisher`: the plan and finish tools' state, reported by plan(), report() and structured_output()."""
        _check_names(tools)
        self._tools = {tool.name: tool for tool in tools}
        self._models: dict[str, type[ToolArgs]] = {}
        self._changed_paths = changed_paths
        self._close = close
        self._plan, self._finisher = plan, finisher
        self._succeeded: set[str] = set()
        if schemas is None:
            from glm_agent.tools.schemas import wire_schema

            schemas = [tool.schema or wire_schema(tool.name, self._model(tool)) for tool in tools]
        elif [schema["function"]["name"] for schema in schemas] != [tool.name for tool in tools]:
            raise ValueError("the wire schemas do not name the tools in their order")
        self._schemas = schemas
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

    def structured_output(self):
        """The `result` of the accepted finish when the run has an output schema, else None."""
        return self._finisher.output if self._finisher else None

    def plan(self) -> list[dict]:
        """The model's current plan ({"step", "status"} dicts; empty when it made none), e.g. to re-inject."""
        return [dict(step) for step in self._plan.steps] if self._plan else []

    def set_plan(self, steps: list[dict]) -> None:
        """Start from a plan made earlier (a resumed run)."""
        if self._plan is not None:
            self._plan.steps = [dict(step) for step in steps]

    def report(self) -> dict:
        """What the tools leave for the run's result: the final plan and the refused finishes by reason."""
        out: dict = {}
        if self._plan is not None and self._plan.steps:
            out["plan"] = self.plan()
        if self._finisher is not None and self._finisher.refused:
            out["finish_refused"] = dict(self._finisher.refused)
        return out

    def succeeded(self) -> set[str]:
        """The names of the tools that have returned at least one result that is not an error."""
        return set(self._succeeded)

    def close(self) -> None:
        """Stop what the run's commands left running in the background (also done when the toolset is collected)."""
        self._close()

    def arguments(self, name: str, arguments: str | None) -> dict | None:
        """The call's arguments as dispatch reads them (damaged JSON and leaked markup repaired), or None when the
        tool is unknown or they cannot be read: what hooks inspect, so no repaired call slips past them."""
        if name not in self._tools:
            return None
        try:
            return parse_arguments(arguments, self._strings[name], name).args
        except ArgumentError:
            return None

    def dispatch(self, name: str, arguments: str | None) -> ToolResult:
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(self._unknown(name), is_error=True, malformed=True)
        try:
            parsed = parse_arguments(arguments, self._strings[name], name)
        except ArgumentError as exc:
            return self._invalid(name, str(exc), malformed=True)
        if tool.args is None:
            return self._run(tool, parsed.args, parsed.note)
        model = self._model(tool)
        fields = model.model_fields
        given = {key: value for key, value in parsed.args.items()  # null for an optional field means its default
                 if not (value is None and key in fields and not fields[key].is_required())}
        from pydantic import (
            ValidationError,  # imported with the model: only a lookup now
        )

        try:
            args = model.model_validate(given)
        except ValidationError as exc:
            return self._invalid(name, _explain(exc, model))
        return self._run(tool, args, parsed.note)

    def _run(self, tool: Tool, args, note: str | None) -> ToolResult:
        """Run the tool on checked arguments: its model-fixable failures and its bugs become error results."""
        name = tool.name
        try:
            outcome = tool.run(args)
        except ToolError as exc:
            return ToolResult(f"Error: {exc}", is_error=True)
        except EndRun:
            raise
        except Exception as exc:  # a tool bug must not kill the run; the model may route around it
            return ToolResult(f"Error: {name} failed unexpectedly: {type(exc).__name__}: {exc}", is_error=True)
        result = outcome if isinstance(outcome, ToolResult) else ToolResult(outcome)
        text = f"{result.text}\n(note: {note})" if note else result.text
        # undecodable bytes kept as surrogates (edit_file, git output) cannot be sent as UTF-8 JSON
        text = text.encode("utf-8", "replace").decode("utf-8")
        if not result.is_error:
            self._succeeded.add(name)
        return replace(result, text=text, malformed=False)

    def _model(self, tool: Tool) -> type[ToolArgs]:
        """The tool's argument model, its loader called on first need."""
        model = self._models.get(tool.name)
        if model is None:
            model = self._models[tool.name] = tool.args if isinstance(tool.args, type) else tool.args()
        return model

    def _invalid(self, name: str, problem: str, *, malformed: bool = False) -> ToolResult:
        return ToolResult(f"Invalid arguments for {name}: {problem}\nExpected: {self._signatures[name]}", is_error=True,
                          malformed=malformed)

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), list(self._tools), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"Unknown tool '{name}'.{hint} Available tools: {', '.join(self._tools)}."


def _check_names(tools: list[Tool]) -> None:
    seen: set[str] = set()
    for tool in tools:
        if not _NAME.match(tool.name):
            raise ToolsetError(f"invalid tool name {tool.name!r}: GLM takes 1 to 64 letters, digits, _ or -")
        if tool.name in seen:
            raise ToolsetError(f"two tools are named {tool.name!r}")
        seen.add(tool.name)
    if len(tools) > MAX_TOOLS:
        raise ToolsetError(f"{len(tools)} tools, and GLM takes at most {MAX_TOOLS} in one request: offer fewer "
                           f"(fewer MCP servers, or custom tools)")


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
