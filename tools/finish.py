"""finish: the model's completion signal, optionally checked by a gate (fix mode: the check must pass)."""
from __future__ import annotations

from typing import Callable

from pydantic import Field

from tools.base import ToolResult
from tools.registry import ToolArgs

FinishGate = Callable[[str], "str | None"]


class Finish(ToolArgs):
    """Call when the task is complete (or cannot be completed), with a short summary of what you did and how you
    verified it. This ends the run; do not call it while work remains."""

    summary: str = Field(min_length=1, description="What changed, and how it was verified")


def make_finish(gate: FinishGate | None) -> Callable[[Finish], ToolResult]:
    """The finish tool; with a gate, a returned string is the reason the finish is refused."""

    def finish(args: Finish) -> ToolResult:
        problem = gate(args.summary) if gate else None
        if problem is not None:
            return ToolResult(problem, is_error=True)
        return ToolResult("Finished.", finish_summary=args.summary)

    return finish
