"""finish: the model's completion signal, optionally checked by a gate (fix mode: the check must pass)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from glm_agent.tools.base import ToolResult

if TYPE_CHECKING:
    from glm_agent.tools.schemas import Finish

FinishGate = Callable[[str], "str | None"]


def make_finish(gate: FinishGate | None) -> Callable[[Finish], ToolResult]:
    """The finish tool; with a gate, a returned string is the reason the finish is refused."""

    def finish(args: Finish) -> ToolResult:
        problem = gate(args.summary) if gate else None
        if problem is not None:
            return ToolResult(problem, is_error=True)
        return ToolResult("Finished.", finish_summary=args.summary)

    return finish
