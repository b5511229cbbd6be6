"""The tools' argument models: their docstrings and field descriptions are what GLM reads about each tool.

One model gives both the JSON schema sent to GLM and the validation of what comes back. The schemas for the
default settings ship ready-made in tools/schemas.json, so a run's first request needs neither pydantic nor these
models (they load on the first dispatch). Regenerate that file after changing anything here:

    python -m glm_agent.tools.schemas
"""
from __future__ import annotations

import functools
import json
from typing import Any, Literal

from glm_agent.tools.base import SCHEMA_FILE, ToolSettings
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic.json_schema import GenerateJsonSchema


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


class ReadFile(ToolArgs):
    """Read a text file as numbered lines (`cat -n` style), or list a directory (2 levels). Use it before
    editing; read big files in ranges with offset/limit. Prefer it to bash cat/head/tail; use grep/glob to find
    files first."""

    path: str = Field(description="File or directory, relative to the repo root")
    offset: int = Field(1, ge=1, description="First line to show (1-based)")
    limit: int = Field(2000, ge=1, description="Maximum number of lines")


class WriteFile(ToolArgs):
    """Create a file, or replace a whole file (parent folders are created). To change part of an existing file use
    edit_file instead. Overwriting requires that you read the file in this run and it has not changed since."""

    path: str = Field(description="File path relative to the repo root")
    content: str = Field(description="The complete new file content")


class EditFile(ToolArgs):
    """Replace exact text in a file. old_string must match the file exactly (whitespace and indentation included,
    without read_file's line-number prefix) and be unique unless replace_all is true; add surrounding lines to make
    it unique. Use this, not bash sed/echo, for edits."""

    path: str = Field(description="File path relative to the repo root")
    old_string: str = Field(description="Exact existing text to replace")
    new_string: str = Field(description="Replacement text")
    replace_all: bool = Field(False, description="Replace every occurrence")


class UndoEdit(ToolArgs):
    """Revert the last write_file/edit_file/undo-able change this run made to a file (several levels). Use it to
    back out a bad edit instead of git checkout."""

    path: str = Field(description="File path relative to the repo root")


class Glob(ToolArgs):
    """Find files by name pattern (e.g. '**/*.py', 'src/*.ts', '*.md'; a pattern without '/' matches the file name
    at any depth), newest first; .gitignore'd files are skipped. Use it rather than bash find/ls; use grep to search
    contents."""

    pattern: str = Field(description="Glob pattern, supports ** and {a,b}")
    path: str = Field(".", description="Folder to search, relative to the repo root")


class Grep(ToolArgs):
    """Search file contents with a Python regex; prints file:line:text. Skips .gitignore'd and binary files. Use it
    (not bash grep/rg) to locate code before reading or editing."""

    pattern: str = Field(description="Regular expression")
    path: str = Field(".", description="File or folder to search")
    glob: str | None = Field(None, description="Only files matching this glob, e.g. '*.py'")
    ignore_case: bool = Field(False, description="Case-insensitive match")
    context: int = Field(0, ge=0, le=20, description="Lines of context around each match")
    max_results: int = Field(200, ge=1, le=2000, description="Maximum matching lines shown")


class Bash(ToolArgs):
    """Run a shell command with bash in the repo root and get its output (stdout and stderr) and exit code. Each
    call is a fresh process: cd, exports and variables do not persist, and stdin is closed (no interactive
    prompts). Use it for tests, builds and git commands the git tools lack; use read_file, grep, glob and
    edit_file rather than cat, find, sed or echo > file. A command that needs a server (or another long-running
    process) may start it in the background with its output sent to a file (cmd > out.log 2>&1 &) and stop it
    when done; whatever is still running when your work ends is killed. Destructive git commands are refused."""

    command: str = Field(description="The bash command line")
    timeout: int = Field(120, gt=0, description="Seconds before the command and its children are killed")

    @classmethod
    @functools.lru_cache(maxsize=None)  # one class per pair of settings: building a model costs ~1 ms
    def configured(cls, default: int, maximum: int) -> type[Bash]:
        """This model with the timeout default and maximum of the run's settings in its schema."""
        timeout = (int, Field(default, gt=0, description=f"Seconds before the command and its children are killed "
                                                         f"(at most {maximum})"))
        return create_model("Bash", __base__=cls, __doc__=cls.__doc__, timeout=timeout)


class GitStatus(ToolArgs):
    """Show the branch and the changed, staged and untracked files (git status --short). Use it to check what you
    have changed so far."""


class GitDiff(ToolArgs):
    """Show uncommitted changes as a unified diff: unstaged by default, staged=true for the index. Use it to review
    your edits before finishing or committing."""

    path: str | None = Field(None, description="Limit to this file or folder")
    staged: bool = Field(False, description="Show staged changes instead")


class GitLog(ToolArgs):
    """Show recent commits (hash, date, author, subject); use git_diff for uncommitted changes."""

    n: int = Field(10, ge=1, le=200, description="Number of commits")


class GitCommit(ToolArgs):
    """Commit changes: the given paths, or every file changed since the run began that is not ignored (the user's own
    uncommitted changes are left out unless you edited those files or name them). Only when the task asks for a
    commit; never commit ignored or generated files."""

    message: str = Field(min_length=1, description="Commit message")
    paths: list[str] | None = Field(None, description="Files to commit (default: all changes)")

    @field_validator("paths", mode="before")
    @classmethod
    def _one_path(cls, value):
        """A lone string is one path (models often send "a.py" for ["a.py"])."""
        return [value] if isinstance(value, str) else value


class PlanStep(BaseModel):
    """One step of the plan."""

    model_config = ConfigDict(extra="forbid")

    step: str = Field(min_length=1, max_length=300, description="What the step does, in a few words")
    status: Literal["pending", "in_progress", "done"] = Field(description="pending, in_progress or done")

    @field_validator("status", mode="before")
    @classmethod
    def _spelling(cls, value):
        """"in progress", "In-Progress", "completed" are what models write for the two statuses."""
        if isinstance(value, str):
            value = "_".join(value.strip().lower().replace("-", " ").split())
            return {"completed": "done", "complete": "done", "todo": "pending"}.get(value, value)
        return value


class UpdatePlan(ToolArgs):
    """Set the plan of a task that takes several steps: the whole list each time, with each step's status (at
    most one in_progress). Call it at the start of a multi-step task and again as steps get done; skip it for a
    one-step task."""

    steps: list[PlanStep] = Field(min_length=1, max_length=20, description="The steps, in order")


class Finish(ToolArgs):
    """Call when the task is complete (or cannot be completed), with a short summary of what you did and how you
    verified it. This ends the run; do not call it while work remains."""

    summary: str = Field(min_length=1, description="What changed, and how it was verified")


class FinishWithResult(Finish):
    """finish with the run's output schema (`--output-schema`): `result` is checked against that schema by the
    tool itself, so any JSON value passes here."""

    result: Any = Field(description="The final answer, matching the output schema")


def tool_models(bash_timeout_default: int, bash_timeout_max: int) -> dict[str, type[ToolArgs]]:
    """Every tool's argument model by wire name, in the order the schemas are sent (build_toolset's order)."""
    return {
        "read_file": ReadFile,
        "write_file": WriteFile,
        "edit_file": EditFile,
        "undo_edit": UndoEdit,
        "glob": Glob,
        "grep": Grep,
        "bash": Bash.configured(bash_timeout_default, bash_timeout_max),
        "git_status": GitStatus,
        "git_diff": GitDiff,
        "git_log": GitLog,
        "git_commit": GitCommit,
        "update_plan": UpdatePlan,
        "finish": Finish,
    }


def wire_schema(name: str, model: type[ToolArgs]) -> dict:
    """The tool as GLM sees it: its name, the model's docstring as description, the fields as parameters."""
    parameters = _inlined(model.model_json_schema(schema_generator=_QuietSchema))
    parameters.pop("title", None)
    description = " ".join((parameters.pop("description", None) or "").split())
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


def _inlined(schema: dict) -> dict:
    """The schema with its `$defs` references replaced by the definitions: GLM and vLLM read flat schemas best."""
    defs = schema.pop("$defs", {})

    def inline(node):
        if isinstance(node, dict):
            if "$ref" in node:
                definition = defs[node["$ref"].rsplit("/", 1)[-1]]
                return inline({key: value for key, value in definition.items() if key != "title"})
            return {key: inline(value) for key, value in node.items()}
        return [inline(item) for item in node] if isinstance(node, list) else node

    return inline(schema)


def schema_file_text() -> str:
    """tools/schemas.json as these models give it: the wire schemas for the default settings, with the bash
    timeouts they were made for (the only settings that show in a schema)."""
    defaults = ToolSettings()
    default, maximum = defaults.bash_timeout_default, defaults.bash_timeout_max
    schemas = [wire_schema(name, model) for name, model in tool_models(default, maximum).items()]
    document = {"generated_by": "python -m glm_agent.tools.schemas", "bash_timeout_default": default,
                "bash_timeout_max": maximum, "tools": schemas}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_file_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
