"""What a resumed run carries over from the run it continues: the conversation as it stood, and what was spent."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Carried:
    """The loop starts from these instead of a fresh conversation; budgets count on from `steps`, `usage`,
    `cost_usd` and `elapsed_s`. `messages` ends with a tool or user message (the follow-up), ready to send."""

    messages: list[dict]
    steps: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    plan: list[dict] = field(default_factory=list)
    worked: bool = False  # the run changed files or ran commands: evidence for the evidence-before-done rule
