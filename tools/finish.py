"""finish: the model's completion signal, accepted only when every gate lets it through (evidence of work in a
run, the check in fix mode and `run --check`) and, with an output schema (`--output-schema`), only with a `result`
that validates; each refusal is counted by reason and recorded as an event."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

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
    """The finish tool: the result is checked against the schema (when there is one), then the gates are asked in
    order; the first refusal is the answer. `output` holds the accepted finish's result."""

    def __init__(self, gates: list[FinishGate], schema: dict | None = None):
        from glm_agent.tools.result_schema import ResultCheck

        self.gates, self.output = gates, None
        self.refused: Counter[str] = Counter()
        self._check = None if schema is None else ResultCheck(schema)

    def __call__(self, args: Finish) -> ToolResult:
        result: Any = getattr(args, "result", None)
        if self._check is not None:
            result, problems = self._check.problems(result)
            if problems:
                return self._refuse(Refusal("Error: finish refused: `result` does not match the output schema:\n"
                                            + "\n".join(f"- {p}" for p in problems)
                                            + "\nCall finish again with a corrected `result`.", "output_schema"))
        for gate in self.gates:
            problem = gate(args.summary)
            if problem is not None:
                return self._refuse(problem if isinstance(problem, Refusal) else Refusal(problem, "gate"))
        self.output = result
        return ToolResult("Finished.", finish_summary=args.summary)

    def _refuse(self, refusal: Refusal) -> ToolResult:
        self.refused[refusal.reason] += 1
        return ToolResult(refusal.text, is_error=True, event={"type": "finish_refused", "reason": refusal.reason})
