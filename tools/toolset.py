"""The Toolset: typed tools registered by name, their wire schemas, a dispatch that never raises, and
build_toolset, which binds every built-in tool to one workspace in the fixed order the schemas are sent."""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from glm_agent.tools.arguments import ArgumentError, parse_arguments
from glm_agent.tools.base import (
    SCHEMA_FILE,
    EndRun,
    ToolError,
    ToolResult,
    ToolSettings,
)
from glm_agent.tools.files.editing import Editor
from glm_agent.tools.files.reading import Reader
from glm_agent.tools.files.search import Search
from glm_agent.tools.files.state import FileState
from glm_agent.tools.evidence import EvidenceGate
from glm_agent.tools.finish import FinishGate, FinishTool
from glm_agent.tools.gittools import GitTools
from glm_agent.tools.plan import Plan
from glm_agent.tools.shell.bash import Shell
from glm_agent.tools.workspace import Workspace

if TYPE_CHECKING:
    from glm_agent.tools.schemas import ToolArgs
    from pydantic import ValidationError

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Tool:
    """One model-callable tool: its wire name, argument model and implementation.

    `args` is the argument model (a glm_agent.tools.schemas.ToolArgs subclass), or a function of no arguments returning it:
    the toolset then calls it once, when the model is first needed (the tool's first dispatch, when the wire
    schemas come ready-made), so pydantic and the models need not load before the first request."""

    name: str
    args: type[ToolArgs] | Callable[[], type[ToolArgs]]
    run: Callable[[ToolArgs], "str | ToolResult"]


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
        `plan` and `finisher`: the plan and finish tools' state, reported by plan() and report()."""
        for tool in tools:
            if not _NAME.match(tool.name):
                raise ValueError(f"invalid tool name {tool.name!r}")
        self._tools = {tool.name: tool for tool in tools}
        self._models: dict[str, type[ToolArgs]] = {}
        self._changed_paths = changed_paths
        self._close = close
        self._plan, self._finisher = plan, finisher
        self._succeeded: set[str] = set()
        if schemas is None:
            from glm_agent.tools.schemas import wire_schema

            schemas = [wire_schema(tool.name, self._model(tool)) for tool in tools]
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

    def dispatch(self, name: str, arguments: str | None) -> ToolResult:
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(self._unknown(name), is_error=True, malformed=True)
        try:
            parsed = parse_arguments(arguments, self._strings[name], name)
        except ArgumentError as exc:
            return self._invalid(name, str(exc), malformed=True)
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


def build_toolset(root: Path, settings: ToolSettings | None = None, *, finish_gate: FinishGate | None = None,
                  user_changes: list[str] | None = None, evidence: bool = False) -> Toolset:
    """The toolset for one run on `root`; `finish_gate(summary)` returning a string refuses finish with that text.

    `user_changes`: the repo-relative paths already uncommitted when the run began, when the caller knows them
    (the git guard does); None makes the git tools ask git. `evidence`: refuse a finish before the run has changed a
    file or run a command, once (again when it has not even looked; glm_agent.tools.evidence), before `finish_gate`."""
    settings = settings or ToolSettings()
    workspace = Workspace(Path(root), settings)
    history = FileState()
    reader, editor = Reader(workspace, history), Editor(workspace, history)
    search, shell, gits = Search(workspace), Shell(workspace), GitTools(workspace, history, user_changes)
    plan = Plan()
    looked = lambda: bool(toolset.succeeded() - {"finish", "update_plan"})  # noqa: E731  (toolset: below)
    gates = [EvidenceGate(history.changed, lambda: shell.commands_run, looked)] if evidence else []
    finisher = FinishTool(gates + ([finish_gate] if finish_gate else []))
    runs = {
        "read_file": reader.read_file,
        "write_file": editor.write_file,
        "edit_file": editor.edit_file,
        "undo_edit": editor.undo_edit,
        "glob": search.glob,
        "grep": search.grep,
        "bash": shell.bash,
        "git_status": gits.git_status,
        "git_diff": gits.git_diff,
        "git_log": gits.git_log,
        "git_commit": gits.git_commit,
        "update_plan": plan.update_plan,
        "finish": finisher,
    }
    bash = settings.bash_timeout_default, settings.bash_timeout_max
    toolset = Toolset([Tool(name, partial(_argument_model, name, *bash), run) for name, run in runs.items()],
                      changed_paths=history.changed, close=shell.close, schemas=_shipped_schemas(*bash), plan=plan,
                      finisher=finisher)
    return toolset


def _argument_model(name: str, bash_timeout_default: int, bash_timeout_max: int) -> type[ToolArgs]:
    """A tool's argument model, imported on first need: pydantic and the models cost ~0.1 s, which the first
    request need not wait for when the schemas come from SCHEMA_FILE."""
    from glm_agent.tools.schemas import tool_models

    return tool_models(bash_timeout_default, bash_timeout_max)[name]


def _shipped_schemas(bash_timeout_default: int, bash_timeout_max: int) -> list[dict] | None:
    """The ready-made wire schemas, when they were made for these settings (only the bash timeouts show in a
    schema); None has the Toolset generate them from the models."""
    try:
        shipped = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    except OSError:  # not installed with the package: still correct, just slower
        return None
    if (shipped["bash_timeout_default"], shipped["bash_timeout_max"]) != (bash_timeout_default, bash_timeout_max):
        return None
    return shipped["tools"]
