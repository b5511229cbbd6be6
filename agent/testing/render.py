"""Render a scripted reply as the real service's bytes: a non-stream JSON body or a list of SSE frames.

Z.ai flavour (paths under /api/...): no `object`, id == request_id (14-digit Beijing time + 16 hex), sorted
keys in non-stream bodies, one token per chunk with `role` repeated, "\\n" content beside tool calls, stream
tool ids call_<24 hex> and non-stream ones call_-<int>, finish_reason repeated on tool chunks, usage on the
last chunk. OpenAI flavour (/v1, like vLLM): `object`, chatcmpl ids, `reasoning`, usage chunk with no choices.
"""
from __future__ import annotations

import json
import random
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from glm_agent.testing.script import Reply

_TOKEN = re.compile(r"\s*\S+|\s+")
_BEIJING = timezone(timedelta(hours=8))
ARG_PIECE = 8  # characters of tool arguments per tool_stream fragment


def new_request_id() -> str:
    return datetime.now(_BEIJING).strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)


def tokens(text: str) -> list[str]:
    """Split like a tokenizer would stream it: words with their leading whitespace; joins back exactly."""
    return _TOKEN.findall(text)


def dumps(obj: object, sort_keys: bool = False) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)


@dataclass
class Context:
    """Per-response values shared by every chunk."""

    flavor: str  # "zai" or "openai"
    model: str
    usage: dict
    request_id: str
    created: int
    tool_stream: bool = False
    duplicate_finish: bool = True
    include_usage: bool = False
    fragment_style: str = "repeat_id"

    @classmethod
    def new(cls, flavor: str, model: str, usage: dict, **options: object) -> Context:
        rid = new_request_id() if flavor == "zai" else "chatcmpl-" + secrets.token_hex(16)
        return cls(flavor, model, usage, rid, int(time.time()), **options)

    @property
    def reasoning_key(self) -> str:
        return "reasoning_content" if self.flavor == "zai" else "reasoning"

    def stream_tool_id(self) -> str:
        return ("call_" if self.flavor == "zai" else "chatcmpl-tool-") + secrets.token_hex(12)

    def json_tool_id(self) -> str:
        if self.flavor == "zai":
            return f"call_-{random.randint(10**17, 2**63 - 1)}"
        return "chatcmpl-tool-" + secrets.token_hex(12)


def json_body(reply: Reply, ctx: Context, *, null_content: bool = False) -> bytes:
    """The non-stream response body."""
    message: dict = {"role": "assistant"}
    if null_content:
        message["content"] = None
    elif reply.content or not reply.tool_calls:
        message["content"] = reply.content
    if reply.reasoning:
        message[ctx.reasoning_key] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {"function": {"arguments": args, "name": name}, "id": ctx.json_tool_id(), "index": i, "type": "function"}
            for i, (name, args) in enumerate(reply.argument_strings())
        ]
    choice = {"finish_reason": reply.final_reason(), "index": 0, "message": message}
    if ctx.flavor == "zai":
        body = {"choices": [choice], "created": ctx.created, "id": ctx.request_id, "model": ctx.model,
                "request_id": ctx.request_id, "usage": ctx.usage}
        return dumps(body, sort_keys=True).encode("utf-8")
    body = {"id": ctx.request_id, "object": "chat.completion", "created": ctx.created, "model": ctx.model,
            "choices": [{**choice, "logprobs": None}], "usage": ctx.usage}
    return dumps(body).encode("utf-8")


def _deltas(reply: Reply, ctx: Context) -> list[tuple[dict, str | None]]:
    """(delta, finish_reason-on-this-chunk) pairs before the final chunk."""
    out: list[tuple[dict, str | None]] = []
    for i, tok in enumerate(tokens(reply.reasoning)):
        first = {"content": ""} if i == 0 else {}
        out.append(({"role": "assistant", **first, ctx.reasoning_key: tok}, None))
    content = reply.content or ("\n" if reply.tool_calls else "")
    for tok in tokens(content):
        out.append(({"role": "assistant", "content": tok}, None))
    repeat = "tool_calls" if ctx.duplicate_finish and ctx.flavor == "zai" else None
    for index, (name, args) in enumerate(reply.argument_strings()):
        call_id = ctx.stream_tool_id()
        if not ctx.tool_stream:
            call = {"id": call_id, "index": index, "type": "function", "function": {"name": name, "arguments": args}}
            out.append(({"tool_calls": [call]}, repeat))
            continue
        first = {"id": call_id, "index": index, "type": "function", "function": {"name": name, "arguments": ""}}
        out.append(({"tool_calls": [first]}, None))
        for start in range(0, len(args), ARG_PIECE):
            piece = {"index": index, "function": {"arguments": args[start:start + ARG_PIECE]}}
            if ctx.fragment_style == "repeat_id":
                piece = {"id": call_id, **piece}
            out.append(({"tool_calls": [piece]}, None))
    return out


def _chunk(ctx: Context, delta: dict, finish: str | None, usage: dict | None = None) -> bytes:
    choice: dict = {"index": 0}
    if ctx.flavor == "zai":
        if finish:
            choice["finish_reason"] = finish
        choice["delta"] = delta
        chunk: dict = {"id": ctx.request_id, "created": ctx.created, "model": ctx.model, "choices": [choice]}
    else:
        choice.update(delta=delta, logprobs=None, finish_reason=finish)
        chunk = {"id": ctx.request_id, "object": "chat.completion.chunk", "created": ctx.created,
                 "model": ctx.model, "choices": [choice]}
    if usage is not None:
        chunk["usage"] = usage
    return frame(dumps(chunk))


def frame(data: str) -> bytes:
    return f"data: {data}\n\n".encode("utf-8")


DONE = frame("[DONE]")


def sse_frames(reply: Reply, ctx: Context) -> list[bytes]:
    """Every frame of the stream, [DONE] included."""
    deltas = _deltas(reply, ctx)
    last = {"role": "assistant", "content": ""}
    if ctx.tool_stream and ctx.fragment_style == "on_finish" and deltas and "tool_calls" in deltas[-1][0]:
        # the last argument fragment rides on a finish chunk; usage follows on a second one
        deltas[-1] = ({**last, **deltas[-1][0]}, reply.final_reason())
    frames = [_chunk(ctx, delta, finish) for delta, finish in deltas]
    if ctx.flavor == "zai":
        frames.append(_chunk(ctx, last, reply.final_reason(), ctx.usage))
    else:
        frames.append(_chunk(ctx, last, reply.final_reason()))
        if ctx.include_usage:
            usage_chunk = {"id": ctx.request_id, "object": "chat.completion.chunk", "created": ctx.created,
                           "model": ctx.model, "choices": [], "usage": ctx.usage}
            frames.append(frame(dumps(usage_chunk)))
    frames.append(DONE)
    return frames


def error_body(flavor: str, status: int, code: str, message: str) -> bytes:
    """Z.ai: {"error": {"code": "<string>", "message"}}; OpenAI hosts: vLLM's flat error object."""
    if flavor == "zai":
        return dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    return dumps({"object": "error", "message": message, "type": "BadRequestError", "param": None,
                  "code": status}).encode("utf-8")


def malformed_frame(ctx: Context) -> bytes:
    """Two frames glued together mid-object, as seen in the wild (opencode#8431)."""
    return f'data: {{"id":data: {{"id":"{ctx.request_id}","created":{ctx.created},"choices":[]}}\n\n'.encode()
