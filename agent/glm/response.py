"""Reading GLM responses: tolerant models of bodies, stream chunks and error bodies, merged into one AssistantTurn.

The models accept everything the real service and OpenAI-compatible hosts were seen to send: unknown
fields, no `object`, content null / "" / text, opaque ids (`call_-123`), `index: -1`, `reasoning` as an
alias of `reasoning_content`, codes as strings or ints, nested or flat error bodies. This module imports
pydantic, so the client loads it only once the first answer arrives (glm_agent.glm.request builds the request without it).
"""
from __future__ import annotations

import json
from typing import Any, Callable

from glm_agent.core.turn import AssistantTurn, Delta, ToolCall, Usage
from pydantic import BaseModel, ConfigDict, field_validator


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)  # built at first parse, not at import


class WireFunction(_Tolerant):
    name: str | None = None
    arguments: str | None = None

    @field_validator("arguments", mode="before")
    @classmethod
    def _object_to_string(cls, value: Any) -> Any:
        # The docs schema calls arguments an object; the service sends a string. Accept both.
        if isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return value


class WireToolCall(_Tolerant):
    id: str | None = None
    index: int | None = None
    type: str | None = None
    function: WireFunction | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _opaque_id(cls, value: Any) -> Any:
        return None if value is None else str(value)


class WireMessage(_Tolerant):
    """A non-stream `message` or a stream `delta`: every field optional."""

    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[WireToolCall] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _content_parts(cls, value: Any) -> Any:
        if isinstance(value, list):  # content-part arrays from some OpenAI-compatible hosts
            return "".join(part.get("text", "") for part in value if isinstance(part, dict))
        return value

    def thinking(self) -> str | None:
        return self.reasoning_content or self.reasoning


class WireChoice(_Tolerant):
    index: int | None = None
    finish_reason: str | None = None
    message: WireMessage | None = None
    delta: WireMessage | None = None


class WireUsage(_Tolerant):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    total_tokens: int | None = None
    prompt_tokens_details: dict | None = None

    def cached_tokens(self) -> int:
        details = self.prompt_tokens_details or {}
        return int(details.get("cached_tokens") or 0)


class WireBody(_Tolerant):
    """A whole non-stream response, one stream chunk, or an error body (nested or flat)."""

    id: str | None = None
    request_id: str | None = None
    model: str | None = None
    object: str | None = None
    choices: list[WireChoice] | None = None
    usage: WireUsage | None = None
    error: Any = None
    code: Any = None
    message: Any = None

    def error_fields(self) -> tuple[str | None, str] | None:
        """(code, message) when this body is an error, in either the nested or the flat form."""
        if self.error:  # Z.ai sends it without choices; OpenRouter mid-stream errors keep a choices list
            err = self.error if isinstance(self.error, dict) else {"message": str(self.error)}
            code = err.get("code")
            return (None if code is None else str(code)), str(err.get("message") or "")
        if self.code is not None and self.choices is None and self.message is not None:
            return str(self.code), str(self.message)
        return None


def parse_body(text: str | bytes) -> WireBody:
    """Parse one JSON body or frame; raises ValueError when it is not a JSON object."""
    return WireBody.model_validate_json(text)


class TurnBuilder:
    """Accumulates a response (whole or chunk by chunk) into one AssistantTurn.

    Tool calls are merged by `index`: id and name come from the first fragment that has them (repeats are
    ignored), `arguments` are concatenated, and nothing is parsed before the end, so whole calls and
    tool_stream fragments go through the same path. finish_reason may repeat; usage may ride on any chunk.
    """

    def __init__(self, on_delta: Callable[[Delta], None] | None = None):
        self._on_delta = on_delta
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, list] = {}  # index -> [id, name, argument fragments]
        self.saw_content = False
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.request_id: str | None = None
        self.model: str | None = None

    def add(self, body: WireBody, *, stream: bool) -> None:
        self.request_id = self.request_id or body.request_id or body.id
        self.model = self.model or body.model
        if body.usage is not None:
            u = body.usage
            prompt, completion = u.prompt_tokens or 0, u.completion_tokens or 0
            self.usage = Usage(prompt, completion, u.cached_tokens(), u.total_tokens or prompt + completion)
        for choice in body.choices or []:
            if choice.index not in (None, 0):
                continue
            self._message((choice.delta if stream else choice.message) or WireMessage())
            self.finish_reason = choice.finish_reason or self.finish_reason

    def _message(self, message: WireMessage) -> None:
        thinking = message.thinking()
        if thinking:
            self._reasoning.append(thinking)
            self._emit("reasoning", thinking)
        if message.content is not None:
            self.saw_content = True
            if message.content:
                self._content.append(message.content)
                self._emit("content", message.content)
        for position, call in enumerate(message.tool_calls or []):
            self._tool_fragment(call, position)

    def _tool_fragment(self, call: WireToolCall, position: int) -> None:
        index = call.index if call.index is not None else position
        slot = self._calls.setdefault(index, [None, None, []])
        function = call.function or WireFunction()
        new_name = None
        if call.id and not slot[0]:
            slot[0] = call.id
        if function.name and not slot[1]:
            slot[1] = new_name = function.name
        if function.arguments:
            slot[2].append(function.arguments)
        if new_name or function.arguments:
            self._emit("tool_call", function.arguments or "", index=index, name=new_name)

    def _emit(self, kind: str, text: str, index: int | None = None, name: str | None = None) -> None:
        if self._on_delta is not None:
            self._on_delta(Delta(kind, text, index, name))  # type: ignore[arg-type]

    def turn(self) -> AssistantTurn:
        calls = [
            ToolCall(id=slot[0] or f"call_{self.request_id or 'missing'}_{i}", name=slot[1] or "",
                     arguments="".join(slot[2]))
            for i, (_, slot) in enumerate(sorted(self._calls.items()))
        ]
        return AssistantTurn(
            content="".join(self._content) if self.saw_content else None,
            reasoning_content="".join(self._reasoning) or None,
            tool_calls=calls,
            finish_reason=self.finish_reason,
            usage=self.usage or Usage(),
            request_id=self.request_id,
            model=self.model,
        )
