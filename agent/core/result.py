"""The result of a run: what the CLI prints (or its JSON), result.json holds, and library callers get back."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from glm_agent.core.stops import StopReason
from glm_agent.core.turn import Usage


@dataclass
class RunResult:
    """What a run ended with; the CLI prints it (or its JSON) and maps stop_reason to the exit code."""

    stop_reason: StopReason
    summary: str = ""
    steps: int = 0
    usage: dict[str, int] = field(default_factory=lambda: Usage().as_dict())
    cost_usd: float = 0.0
    files_changed: list[str] = field(default_factory=list)
    commit: Optional[str] = None
    branch: Optional[str] = None
    run_dir: Optional[str] = None
    error: Optional[str] = None
    limit: Optional[str] = None
    structured_output: Any = None  # the finish `result` that matched the run's output schema (--output-schema)
    extra: dict[str, Any] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=lambda: {"mode": "off", "reason": "no command ran"})

    def to_dict(self, *only: str) -> dict[str, Any]:
        """Plain JSON-able data (what result.json holds), or only the named fields; dataclasses.replace copies."""
        return {key: value for key, value in asdict(self).items() if not only or key in only}
