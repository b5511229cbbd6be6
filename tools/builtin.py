"""build_toolset: every built-in tool bound to one workspace, in the fixed order the schemas are sent, then the
extra (custom, MCP) tools; the finish gates and the output schema wired in."""
from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from glm_agent.tools.base import SCHEMA_FILE, ToolSettings
from glm_agent.tools.evidence import EvidenceGate
from glm_agent.tools.files.editing import Editor
from glm_agent.tools.files.reading import Reader
from glm_agent.tools.files.search import Search
from glm_agent.tools.files.state import FileState
from glm_agent.tools.finish import FinishGate, FinishTool
from glm_agent.tools.gittools import GitTools
from glm_agent.tools.plan import Plan
from glm_agent.tools.shell.bash import Shell
from glm_agent.tools.shell.sandbox import OFF, Sandbox
from glm_agent.tools.toolset import Tool, Toolset
from glm_agent.tools.workspace import Workspace

if TYPE_CHECKING:
    from glm_agent.tools.schemas import ToolArgs


def build_toolset(root: Path, settings: ToolSettings | None = None, *, finish_gate: FinishGate | None = None,
                  user_changes: list[str] | None = None, output_schema: dict | None = None,
                  sandbox: Sandbox = OFF, extra: list[Tool] = (), evidence: bool = False) -> Toolset:
    """The toolset for one run on `root`; `finish_gate(summary)` returning a string refuses finish with that text;
    `output_schema` (a checked JSON Schema) makes finish take a `result` that must validate against it.
    `extra`: more tools (custom, MCP) offered after the built-in ones, under the same dispatch rules.

    `user_changes`: the repo-relative paths already uncommitted when the run began, when the caller knows them
    (the git guard does); None makes the git tools ask git. `sandbox`: where the bash tool's commands run.
    `evidence`: refuse a finish before the run has changed a file or run a command, once (again when it has not even
    looked; glm_agent.tools.evidence), before `finish_gate`."""
    settings = settings or ToolSettings()
    workspace = Workspace(Path(root), settings)
    history = FileState()
    reader, editor = Reader(workspace, history), Editor(workspace, history)
    search, shell, gits = Search(workspace), Shell(workspace, sandbox), GitTools(workspace, history, user_changes)
    plan = Plan()
    looked = lambda: bool(toolset.succeeded() - {"finish", "update_plan"})  # noqa: E731  (toolset: below)
    # work done: commands run, or a custom or MCP tool that answered (an action glm-agent cannot see into)
    acted = lambda: shell.commands_run + len(toolset.succeeded() & {tool.name for tool in extra})  # noqa: E731
    gates = [EvidenceGate(history.changed, acted, looked)] if evidence else []
    finisher = FinishTool(gates + ([finish_gate] if finish_gate else []), output_schema)
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
    tools = [Tool(name, partial(_argument_model, name, *bash), run) for name, run in runs.items()]
    schemas = _shipped_schemas(*bash)
    if output_schema is not None:
        from glm_agent.tools.result_schema import with_result_schema
        from glm_agent.tools.schemas import FinishWithResult, wire_schema

        tools[-1] = Tool("finish", FinishWithResult, finisher)
        base = schemas or [wire_schema(tool.name, _argument_model(tool.name, *bash)) for tool in tools]
        schemas = with_result_schema(base, output_schema)
    if schemas is not None and extra:
        from glm_agent.tools.schemas import wire_schema

        schemas = schemas + [tool.schema or wire_schema(tool.name, tool.args) for tool in extra]
    toolset = Toolset(tools + list(extra), changed_paths=history.changed, close=shell.close, schemas=schemas,
                      plan=plan, finisher=finisher)
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
