"""update_plan: the model's plan for a multi-step task, kept by the run, shown live, recorded, and re-injected
after a compaction (the toolset's `plan()`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from glm_agent.tools.base import ToolError, ToolResult

if TYPE_CHECKING:
    from glm_agent.tools.schemas import UpdatePlan

MARKS = {"done": "[x]", "in_progress": "[>]", "pending": "[ ]"}


class Plan:
    """The current plan: a list of {"step", "status"} (pending, in_progress or done); each call replaces it."""

    def __init__(self, steps: list[dict] | None = None):
        self.steps: list[dict] = [dict(step) for step in steps or []]

    def update_plan(self, args: UpdatePlan) -> ToolResult:
        steps = [{"step": item.step, "status": item.status} for item in args.steps]
        if sum(step["status"] == "in_progress" for step in steps) > 1:
            raise ToolError("at most one step may be in_progress; mark the others pending or done")
        self.steps = steps
        done = sum(step["status"] == "done" for step in steps)
        return ToolResult(f"Plan updated ({done} of {len(steps)} done):\n{render_plan(steps)}",
                          event={"type": "plan", "steps": [dict(step) for step in steps]})


def render_plan(steps: list[dict]) -> str:
    """The plan as lines the model and the user read: `[x] done`, `[>] in progress`, `[ ] pending`."""
    return "\n".join(f"{MARKS.get(step['status'], '[ ]')} {step['step']}" for step in steps)
