"""What the stand-in answers: scripted replies, injected faults and raw recorded bytes, plus JSON script files.

Script files are JSON lists. Each item is a reply {"content", "reasoning", "tool_calls": [{"name",
"arguments"}], "finish_reason", "usage"}, a fault {"fault": {"kind": ..., ...}} (fields of Fault), or raw
bytes {"raw": {"body": ..., "chunks": [...], "status": 200}}.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

ERROR_MESSAGES = {
    "500": "Internal error",
    "1001": "Header has no Authorization parameter",
    "1002": "Authorization Token is invalid, please check and try again",
    "1113": "Insufficient balance or no resource package. Please recharge.",
    "1210": "Invalid API parameter, please check the documentation.",
    "1211": "Unknown Model, please check the model code.",
    "1214": "The messages parameter is illegal. Please check the documentation.",
    "1261": "Prompt exceeds max length",
    "1301": "System detected potentially unsafe or sensitive content in input or generation.",
    "1302": "High concurrency usage of this API, please reduce concurrency or contact customer service to "
            "increase limits",
    "1305": "The service may be temporarily overloaded, please try again later",
}
FAULT_KINDS = ("http", "inband_error", "malformed_frame", "drop_mid_stream", "empty_reply")


@dataclass
class Reply:
    """One assistant turn. arguments: dict (sent compact) or str (sent raw, e.g. malformed JSON).

    finish_reason None means "tool_calls" when there are tool calls, else "stop"; any other value
    ("length", "sensitive", "network_error", "model_context_window_exceeded", ...) is sent as given.
    usage (dict of token counts) overrides the computed one.
    """

    content: str = ""
    reasoning: str = ""
    tool_calls: list[tuple[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict | None = None

    def __post_init__(self) -> None:
        # also accept the script-file form [{"name": ..., "arguments": ...}]
        self.tool_calls = [(c["name"], c.get("arguments", {})) if isinstance(c, dict) else tuple(c)
                           for c in self.tool_calls]

    def final_reason(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")

    def argument_strings(self) -> list[tuple[str, str]]:
        return [(name, args if isinstance(args, str) else json.dumps(args, separators=(",", ":"),
                                                                      ensure_ascii=False))
                for name, args in self.tool_calls]


@dataclass
class Fault:
    """An injected failure. Build it with the constructors; `after` = token chunks streamed before it."""

    kind: str
    status: int = 200
    code: str | None = None
    message: str | None = None
    after: int = 3
    retry_after: str | None = None  # an HTTP error's Retry-After header: seconds ("2") or an HTTP date

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        self.code = None if self.code is None else str(self.code)
        self.retry_after = None if self.retry_after is None else str(self.retry_after)

    @classmethod
    def http(cls, status: int, code: str, message: str | None = None, retry_after: str | int | None = None) -> Fault:
        """An HTTP error with a Z.ai error body, e.g. Fault.http(429, "1302"); `retry_after` adds that header
        (seconds or an HTTP date; Z.ai itself was not seen sending one, glm-api.md section 5)."""
        return cls("http", status=status, code=str(code), message=message, retry_after=retry_after)

    @classmethod
    def inband_error(cls, code: str = "1302", message: str | None = None, after: int = 3) -> Fault:
        """A `data: {"error": ...}` frame (no choices) after `after` chunks, then the stream ends."""
        return cls("inband_error", code=str(code), message=message, after=after)

    @classmethod
    def malformed_frame(cls, after: int = 3) -> Fault:
        """A broken frame (`{"id":data: {"id":...`) after `after` chunks (a bad JSON body when not streaming)."""
        return cls("malformed_frame", after=after)

    @classmethod
    def drop_mid_stream(cls, after: int = 3) -> Fault:
        """The connection is cut after `after` chunks (a truncated body when not streaming)."""
        return cls("drop_mid_stream", after=after)

    @classmethod
    def empty_reply(cls) -> Fault:
        """HTTP 200, finish_reason stop, content null, all usage 0: a coding plan out of quota."""
        return cls("empty_reply")

    def error_message(self) -> str:
        return self.message or ERROR_MESSAGES.get(self.code or "", "error")


@dataclass
class Raw:
    """Exact bytes to serve (a recorded response), written in `chunks` network writes of the given sizes."""

    body: bytes
    chunks: list[int] | None = None
    status: int = 200
    content_type: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.body, str):
            self.body = self.body.encode("utf-8")
        if self.content_type is None:
            is_sse = self.body.lstrip().startswith(b"data:")
            self.content_type = "text/event-stream;charset=UTF-8" if is_sse else "application/json; charset=UTF-8"

    def pieces(self) -> list[bytes]:
        if not self.chunks:
            return [self.body]
        out, start = [], 0
        for size in self.chunks:
            out.append(self.body[start:start + size])
            start += size
        if start < len(self.body):
            out.append(self.body[start:])
        return [piece for piece in out if piece]


Item = Union[Reply, Fault, Raw]


def item_from_dict(data: dict) -> Item:
    """One script item from its JSON form."""
    if "fault" in data:
        return Fault(**data["fault"])
    if "raw" in data:
        return Raw(**data["raw"])
    return Reply(content=data.get("content", ""), reasoning=data.get("reasoning", ""),
                 tool_calls=data.get("tool_calls") or [],
                 finish_reason=data.get("finish_reason"), usage=data.get("usage"))


def load_script(path: str | Path) -> list[Item]:
    """Read a JSON script file (a list of items, or {"script": [...]})."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data["script"]
    return [item_from_dict(item) for item in data]
