"""The tools GLM acts through: file edits, search, shell and git, confined to one workspace."""
from __future__ import annotations

from tools.base import EndRun, ToolResult, ToolSettings
from tools.registry import Toolset
from tools.toolset import build_toolset

__all__ = ["EndRun", "ToolResult", "ToolSettings", "Toolset", "build_toolset"]
