"""Custom tools for library users: a typed Python function becomes a Tool, its signature the one source of both the
schema GLM reads and the validation of what GLM sends back (a pydantic model made with create_model)."""
from __future__ import annotations

import inspect
import json
import typing
from typing import Any, Callable

from glm_agent.tools.base import ToolResult
from glm_agent.tools.toolset import Tool


def tool(fn: Callable | None = None, *, name: str | None = None, description: str | None = None):
    """Make `fn` a tool: `@tool`, `@tool(name=...)` or `tool(fn)`. Its parameters (annotated; pydantic types and
    `Annotated[int, Field(description=...)]` welcome) are the arguments, its docstring the description the model
    reads. It returns text, a ToolResult, or any JSON-able value; raising glm_agent.tools.base.ToolError gives
    the model an error it can fix, any other exception an "failed unexpectedly" error (the run goes on)."""
    def make(function: Callable) -> Tool:
        model = arguments_model(function, name or function.__name__, description)
        fields = list(model.model_fields)

        def run(args) -> str | ToolResult:
            return _as_result(function(**{field: getattr(args, field) for field in fields}))

        return Tool(name or function.__name__, model, run)

    return make(fn) if fn is not None else make


def arguments_model(function: Callable, name: str, description: str | None = None):
    """The ToolArgs model of `function`'s parameters: unknown fields refused, defaults kept, types checked."""
    from glm_agent.tools.schemas import ToolArgs
    from pydantic import create_model

    hints = typing.get_type_hints(function, include_extras=True)
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise TypeError(f"tool {name}: parameter {parameter.name!r} cannot be given by name from JSON")
        if parameter.name not in hints:
            raise TypeError(f"tool {name}: parameter {parameter.name!r} needs a type annotation (it is the schema)")
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (hints[parameter.name], default)
    doc = description or inspect.getdoc(function)
    if not doc:
        raise TypeError(f"tool {name}: give it a docstring or a description: the model reads it to know when to call it")
    return create_model(_class_name(name), __base__=ToolArgs, __doc__=doc, **fields)


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_")) or "Tool"


def _as_result(value: Any) -> str | ToolResult:
    if isinstance(value, (str, ToolResult)):
        return value
    if value is None:
        return "Done."
    try:
        return json.dumps(value, ensure_ascii=False, default=_plain)
    except (TypeError, ValueError):
        return str(value)


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # a pydantic model
    return dump(mode="json") if callable(dump) else str(value)
