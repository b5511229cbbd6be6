"""Hooks: commands from the user's config run before and after tool calls, at finish and before compaction."""
from glm_agent.tools.hooks.events import EVENT_NAMES, Hooks, PreCompact, PreTool
from glm_agent.tools.hooks.toolset import HookedToolset

__all__ = ["EVENT_NAMES", "HookedToolset", "Hooks", "PreCompact", "PreTool"]
