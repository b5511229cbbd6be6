"""finish: the model's completion signal, accepted only when every gate lets it through (evidence of work in a
run, the check in fix mode and `run --check`); each refusal is counted by reason and recorded as an event."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from glm_agent.tools.base import ToolResult

if TYPE_CHECKING:
    from glm_agent.tools.schemas import Finish


@dataclass(frozen=True)
class Refusal:
    """Why a gate refused a finish: the text the model reads, and the reason recorded and counted."""

    text: str
    reason: str


FinishGate = Callable[[str], "str | Refusal | None"]  # a plain string is a refusal with reason "gate"


class FinishTool:
    """The finish tool: the gates are asked in order, the first refusal is the answer."""

    def __init__(self, gates: list[FinishGate]):
        self.gates = gates
        self.refused: Counter[str] = Counter()

    def __call__(self, args: Finish) -> ToolResult:
        for gate in self.gates:
            problem = gate(args.summary)
            if problem is None:
                continue
            refusal = problem if isinstance(problem, Refusal) else Refusal(problem, "gate")
            self.refused[refusal.reason] += 1
            return ToolResult(refusal.text, is_error=True, event={"type": "finish_refused", "reason": refusal.reason})
        return ToolResult("Finished.", finish_summary=args.summary)
