"""The tools GLM acts through: file edits, search, shell and git, confined to one workspace.

The names below load on first use, so importing one light submodule (glm_agent.tools.secretenv) stays cheap.
"""
from __future__ import annotations

import importlib

_EXPORTS = {"EndRun": "glm_agent.tools.base", "ToolResult": "glm_agent.tools.base", "ToolSettings": "glm_agent.tools.base",
            "Toolset": "glm_agent.tools.toolset", "build_toolset": "glm_agent.tools.builtin"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tools' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
