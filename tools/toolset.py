"""build_toolset: every tool bound to one workspace, in the fixed order the schemas are sent."""
from __future__ import annotations

from pathlib import Path

from tools.base import ToolSettings
from tools.editing import Editor, EditFile, UndoEdit, WriteFile
from tools.finish import Finish, FinishGate, make_finish
from tools.gittools import GitCommit, GitDiff, GitLog, GitStatus, GitTools
from tools.history import History
from tools.reading import Reader, ReadFile
from tools.registry import Tool, Toolset
from tools.search import Glob, Grep, Search
from tools.shell import Bash, Shell
from tools.workspace import Workspace


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
    return Toolset(
        [
            Tool("read_file", ReadFile, reader.read_file),
            Tool("write_file", WriteFile, editor.write_file),
            Tool("edit_file", EditFile, editor.edit_file),
            Tool("undo_edit", UndoEdit, editor.undo_edit),
            Tool("glob", Glob, search.glob),
            Tool("grep", Grep, search.grep),
            Tool("bash", Bash.configured(settings.bash_timeout_default, settings.bash_timeout_max), shell.bash),
            Tool("git_status", GitStatus, gits.git_status),
            Tool("git_diff", GitDiff, gits.git_diff),
            Tool("git_log", GitLog, gits.git_log),
            Tool("git_commit", GitCommit, gits.git_commit),
            Tool("finish", Finish, make_finish(finish_gate)),
        ],
        changed_paths=history.changed,
        close=shell.close,
    )
