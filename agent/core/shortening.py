"""The first stage of compaction: old reasoning dropped and old tool results cut to their head and tail, counted.

Test failures and exit codes sit at the end of a command's output, so a shortened result keeps its tail as well
as its head. Reasoning is dropped rather than cut: GLM only uses the reasoning of recent turns (glm-api.md
section 7), and half a thought reads worse than none.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from glm_agent.prompts import render

CUT_MARK = "chars cut by glm-agent to save context"  # in prompts/shortened.j2: a result already cut is not cut again


@dataclass
class Shortened:
    """What one pass rewrote: the new text of each tool message by index, the turns whose reasoning went."""

    messages: dict[int, str] = field(default_factory=dict)
    reasoning_dropped: list[int] = field(default_factory=list)
    chars_cut: int = 0

    def __bool__(self) -> bool:
        return bool(self.messages or self.reasoning_dropped)


def head_and_tail(text: str, keep: int) -> str:
    """`text` with its middle replaced by a marker saying how much was cut; unchanged when it is short enough."""
    if len(text) <= keep:
        return text
    head = keep // 2
    tail = keep - head
    return render("shortened", head=text[:head], tail=text[len(text) - tail:] if tail else "",
                  cut=len(text) - keep, original_chars=len(text))


def recent_start(messages: list[dict], steps: int) -> int:
    """Index of the first message of the last `steps` steps (a step starts at an assistant message)."""
    if steps == 0:
        return len(messages)
    assistants = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    return assistants[-steps] if len(assistants) >= steps else 0


def shorten_old(messages: list[dict], *, keep_steps: int, keep_chars: int, done: set[int],
                min_chars: int = 0) -> Shortened:
    """Shorten, in place and once each (`done` remembers them), every message before the last `keep_steps`
    steps: tool results longer than `keep_chars` to their head and tail, and assistant reasoning dropped.

    A rewrite breaks the prefix cache from the first rewritten message on, so nothing is rewritten unless it
    frees at least `min_chars` characters in all."""
    out, changes = Shortened(), []
    for index in range(recent_start(messages, keep_steps)):
        message = messages[index]
        if index in done:
            continue
        if message["role"] == "tool" and len(message["content"]) > keep_chars and CUT_MARK not in message["content"]:
            short = head_and_tail(message["content"], keep_chars)
            if len(short) < len(message["content"]):  # barely over: the marker would make it longer
                changes.append((index, short, len(message["content"]) - len(short)))
        elif message["role"] == "assistant" and message.get("reasoning_content"):
            changes.append((index, None, len(message["reasoning_content"])))
    if sum(gain for _, _, gain in changes) < max(min_chars, 1):
        return out
    for index, short, gain in changes:
        if short is None:
            del messages[index]["reasoning_content"]
            out.reasoning_dropped.append(index)
        else:
            messages[index]["content"] = out.messages[index] = short
        out.chars_cut += gain
        done.add(index)
    return out
