"""Model-neutral records of one assistant turn: what a model client returns and the loop replays."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Literal


@dataclass(frozen=True)
class Usage:
    """Token counts of one response (or a sum of them); `cached_tokens` is part of `prompt_tokens`."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
            self.total_tokens + other.total_tokens,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class ToolCall:
    """One function call as the model sent it; `arguments` is the raw JSON string, possibly malformed."""

    id: str
    name: str
    arguments: str

    def to_wire(self) -> dict:
        """The call as it must be replayed: GLM rejects a history whose arguments are not a JSON object string."""
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": _replayable(self.arguments)}}


def _replayable(arguments: str) -> str:
    """Valid object JSON verbatim (byte-stable for the prefix cache); else the leading object GLM may have
    repeated or followed with junk (the one the tools ran), compacted; else "{}" (e.g. cut off by `length`)."""
    try:
        if isinstance(json.loads(arguments), dict):
            return arguments
    except ValueError:
        try:
            value, _ = json.JSONDecoder().raw_decode(arguments.lstrip())
        except ValueError:
            return "{}"
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "{}"


@dataclass
class AssistantTurn:
    """One parsed model answer plus run-only data (usage, cost, ids) that never goes back on the wire."""

    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    request_id: str | None = None
    cost_usd: float = 0.0
    model: str | None = None

    def to_message(self) -> dict:
        """The assistant message exactly as it is replayed: content verbatim, reasoning kept (interleaved thinking)."""
        message: dict = {"role": "assistant", "content": self.content or ""}
        if self.reasoning_content:
            message["reasoning_content"] = self.reasoning_content
        if self.tool_calls:
            message["tool_calls"] = [call.to_wire() for call in self.tool_calls]
        return message


@dataclass(frozen=True)
class Delta:
    """A fragment as it streams in: reasoning, content, or part of a tool call (for live display)."""

    kind: Literal["reasoning", "content", "tool_call"]
    text: str
    index: int | None = None
    name: str | None = None


OnDelta = Callable[[Delta], None]
