"""build_toolset: every tool bound to one workspace, in the fixed order the schemas are sent."""
from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from tools.base import ToolSettings
from tools.editing import Editor
from tools.finish import FinishGate, make_finish
from tools.gittools import GitTools
from tools.history import History
from tools.reading import Reader
from tools.registry import Tool, Toolset
from tools.search import Search
from tools.shell import Shell
from tools.workspace import Workspace

if TYPE_CHECKING:
    from tools.models import ToolArgs

SCHEMA_FILE = Path(__file__).with_name("schemas.json")  # made by `python -m tools.models`


def build_toolset(root: Path, settings: ToolSettings | None = None, *, finish_gate: FinishGate | None = None,
                  user_changes: list[str] | None = None) -> Toolset:
    """The toolset for one run on `root`; `finish_gate(summary)` returning a string refuses finish with that text.

    `user_changes`: the repo-relative paths already uncommitted when the run began, when the caller knows them
    (the git guard does); None makes the git tools ask git."""
    settings = settings or ToolSettings()
    workspace = Workspace(Path(root), settings)
    history = History()
    reader, editor = Reader(workspace, history), Editor(workspace, history)
    search, shell, gits = Search(workspace), Shell(workspace), GitTools(workspace, history, user_changes)
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
        "finish": make_finish(finish_gate),
    }
    bash = settings.bash_timeout_default, settings.bash_timeout_max
    return Toolset([Tool(name, partial(_argument_model, name, *bash), run) for name, run in runs.items()],
                   changed_paths=history.changed, close=shell.close, schemas=_shipped_schemas(*bash))


def _argument_model(name: str, bash_timeout_default: int, bash_timeout_max: int) -> type[ToolArgs]:
    """A tool's argument model, imported on first need: pydantic and the models cost ~0.1 s, which the first
    request need not wait for when the schemas come from SCHEMA_FILE."""
    from tools.models import tool_models

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
