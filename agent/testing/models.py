"""In-process stand-ins for the GLM client: a scripted queue of turns and a model computed from the messages."""
from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterable, Union

from glm_agent.core.turn import AssistantTurn, Delta, OnDelta, ToolCall, Usage


def make_turn(content: str = "", *, reasoning: str | None = None,
              calls: Iterable[tuple[str, Union[dict, str]]] = (), usage: Usage | None = None,
              cost_usd: float = 0.0, finish_reason: str | None = None) -> AssistantTurn:
    """A turn the way the client would return it; dict arguments are serialized, strings kept raw (malformed)."""
    tool_calls = [ToolCall(f"call_{uuid.uuid4().hex[:12]}", name, args if isinstance(args, str) else json.dumps(args))
                  for name, args in calls]
    return AssistantTurn(content=content, reasoning_content=reasoning, tool_calls=tool_calls,
                         finish_reason=finish_reason or ("tool_calls" if tool_calls else "stop"),
                         usage=usage or Usage(100, 10, 0, 110), cost_usd=cost_usd, model="scripted")


class ScriptExhausted(AssertionError):
    """The loop asked for more turns than the test scripted: a test bug or a loop bug, never silent."""


@dataclass
class _Recording:
    requests: list[dict] = field(default_factory=list)

    def _record(self, messages: list[dict], tools: list[dict] | None) -> None:
        self.requests.append({"messages": copy.deepcopy(messages), "tools": copy.deepcopy(tools)})


def _stream(turn: AssistantTurn, on_delta: OnDelta | None) -> AssistantTurn:
    if on_delta is not None:
        if turn.reasoning_content:
            on_delta(Delta("reasoning", turn.reasoning_content))
        if turn.content:
            on_delta(Delta("content", turn.content))
        for index, call in enumerate(turn.tool_calls):
            on_delta(Delta("tool_call", call.arguments, index=index, name=call.name))
    return turn


class ScriptedModel(_Recording):
    """Replies from a queue of AssistantTurns (or exceptions to raise); records every request it was sent."""

    def __init__(self, script: Iterable[AssistantTurn | BaseException]):
        super().__init__()
        self.script = list(script)

    def complete(self, messages: list[dict], tools: list[dict] | None = None, *, stream: bool = True,
                 on_delta: OnDelta | None = None) -> AssistantTurn:
        self._record(messages, tools)
        if not self.script:
            raise ScriptExhausted(f"ScriptedModel: request {len(self.requests)} has no scripted turn left")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return _stream(item, on_delta)

    def close(self) -> None:
        """Same shape as GLMClient."""


class FunctionModel(_Recording):
    """Replies with `fn(messages, tools)`: behaviour that depends on what the tools returned."""

    def __init__(self, fn: Callable[[list[dict], list[dict] | None], AssistantTurn]):
        super().__init__()
        self.fn = fn

    def complete(self, messages: list[dict], tools: list[dict] | None = None, *, stream: bool = True,
                 on_delta: OnDelta | None = None) -> AssistantTurn:
        self._record(messages, tools)
        return _stream(self.fn(copy.deepcopy(messages), tools), on_delta)

    def close(self) -> None:
        """Same shape as GLMClient."""
