"""HookedToolset: a Toolset wrapped so the configured hooks see every call before and after it, and every finish.

Kept out of the loop: the loop dispatches as always, and this wrapper runs pre_tool (block, rewrite), the tool,
post_tool (notes appended to the result) and, when finish was accepted, stop (which may refuse it).
"""
from __future__ import annotations

import json

from glm_agent.tools.base import ToolResult
from glm_agent.tools.hooks.events import Hooks, PreCompact


class HookedToolset:
    """The same interface as Toolset (schemas, names, arguments, dispatch, changed_paths, close), with hooks around
    dispatch."""

    def __init__(self, inner, hooks: Hooks):
        self.inner, self.hooks = inner, hooks

    def __getattr__(self, name: str):
        """Everything else (the plan, the structured output, ...) is the wrapped toolset's."""
        return getattr(self.inner, name)

    def schemas(self) -> list[dict]:
        return self.inner.schemas()

    def names(self) -> list[str]:
        return self.inner.names()

    def arguments(self, name: str, arguments: str | None) -> dict | None:
        return self.inner.arguments(name, arguments)

    def changed_paths(self) -> list[str]:
        return self.inner.changed_paths()

    def close(self) -> None:
        self.inner.close()

    def pre_compact(self, trigger: str = "auto", messages: int | None = None) -> PreCompact:
        """The compaction code's call point (glm_agent.tools.hooks.events documents the contract)."""
        return self.hooks.pre_compact(trigger, messages)

    def dispatch(self, name: str, arguments: str | None, call_id: str | None = None) -> ToolResult:
        tool_input = self.inner.arguments(name, arguments)
        if tool_input is None:  # an unknown tool or unreadable arguments: the model's format error, no tool runs
            return self.inner.dispatch(name, arguments)
        before = self.hooks.pre_tool(name, tool_input, call_id)
        if before.block:
            return ToolResult(f"Blocked by a pre_tool hook: {before.block}", is_error=True)
        if before.tool_input is not tool_input:
            arguments = json.dumps(before.tool_input, ensure_ascii=False)
        result = self.inner.dispatch(name, arguments)
        if result.finish_summary is not None:
            refusal = self.hooks.stop(result.finish_summary)
            if refusal is not None:
                return ToolResult(f"Finish refused by a stop hook: {refusal}", is_error=True)
            return result
        notes = before.notes + self.hooks.post_tool(name, before.tool_input, result.text, result.is_error, call_id)
        if not notes:
            return result
        text = result.text + "".join(f"\n\n(hook note: {note})" for note in notes)
        return ToolResult(text, result.is_error, result.finish_summary, result.malformed)

