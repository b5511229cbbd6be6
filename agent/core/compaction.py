"""Keeping a long run inside GLM's window without losing the task: shorten old output, then summarize and rebuild.

Before each request the prompt is estimated (the last prompt's real size plus the unsent messages at ~4 characters
per token). From `context.shorten_at` of the window, old reasoning is dropped and old tool results are cut to
their head and tail (core.shortening). When that cannot bring the prompt under `context.summarize_at`, GLM writes
a summary (prompts/compact_summary.j2) and the conversation is rebuilt as: the system prompt and the original
task message (the same objects, so byte-identical), one message with the summary, the plan, the files touched
with their diff stat and the last failing command's output (prompts/compacted.j2), then the most recent whole
steps verbatim. From there the history is append-only again, so the prefix cache recovers.

The summary request is the conversation plus one user message asking for the summary: the model is asked to
stop there, so the user message does not cut into a tool loop (glm-api.md section 7), and its answer is never
part of the conversation. It sends the same tool list as every step: GLM's cache is an implicit prefix cache whose
prefix starts with the system prompt and the tools (glm-api.md section 6), so the summary request, being the
conversation plus one message, is served from the cache; a request without tools would share nothing with it.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from glm_agent.config.settings import ContextSettings
from glm_agent.core.shortening import shorten_old
from glm_agent.core.stops import ContextExhausted
from glm_agent.core.turn import AssistantTurn
from glm_agent.glm.errors import ContextTooLongError
from glm_agent.prompts import render

SUMMARY_MARKER = "[glm-agent: context compaction request]"
THRESHOLD, OVERFLOW, STILL_TOO_LONG = "threshold", "context_too_long", "still_too_long"


def is_summary_request(messages: list[dict]) -> bool:
    """Whether a request is compaction's summary request (its last message starts with the marker)."""
    last = messages[-1] if messages else {}
    return last.get("role") == "user" and str(last.get("content") or "").startswith(SUMMARY_MARKER)


def _chars(messages: list[dict]) -> int:
    return sum(len(json.dumps(m, ensure_ascii=False)) for m in messages)


class Compactor:
    """Decides, before each request, whether and how far to compact the conversation; one per run."""

    def __init__(self, model: Any, toolset: Any, settings: ContextSettings, *, emit: Callable[..., None],
                 charge: Callable[[AssistantTurn], None], stream: bool = True,
                 diff_stat: Callable[[], str] | None = None):
        """`emit(kind, **data)` records an event; `charge(turn)` counts the summary call's usage and cost;
        `diff_stat()` gives `git diff --stat` of the run's changes (the jobs pass it in: the loop runs no git)."""
        self.model, self.toolset, self.ctx = model, toolset, settings
        self._emit, self._charge, self._stream, self._diff_stat = emit, charge, stream, diff_stat
        self._tools = toolset.schemas()
        self._tools_chars = len(json.dumps(self._tools, ensure_ascii=False))
        self._done: set[int] = set()  # indices already shortened (or whose reasoning was dropped)
        self._in_a_row, self._step, self._floor = 0, 0, 0
        self._ratio, self._scratch = 1.0, 0  # real tokens per estimated one; the estimate of a whole prompt sent
        self._calls: dict[str, dict] = {}
        self._failure: dict | None = None
        self.shortenings, self.summaries, self.peak_prompt_tokens = 0, 0, 0

    def observe(self, event: dict) -> None:
        """Follow the run's events: model answers (progress, sizes) and the last failing bash command."""
        kind = event["type"]
        if kind == "response":
            self._in_a_row, self._step = 0, event["step"]
            real = event["usage"].get("prompt_tokens", 0)
            self.peak_prompt_tokens = max(self.peak_prompt_tokens, real)
            if self._scratch and real:  # calibrate on a prompt sent whole: only upwards (never trust less)
                self._ratio = min(4.0, max(self._ratio, real / self._scratch))
            self._scratch = 0
        elif kind == "tool_call":
            self._calls[event["id"]] = event
        elif kind == "tool_result":  # the call is answered: only the last failing command is kept
            call = self._calls.pop(event["id"], {})
            if event["name"] == "bash" and event["is_error"]:
                self._failure = {"id": event["id"], "step": event["step"], "text": event["text"],
                                 "command": _command(call.get("arguments"))}

    def record(self) -> dict:
        """What the run's result carries (its `extra`), when the run compacted at all."""
        if not (self.shortenings or self.summaries):
            return {}
        return {"context": {"shortenings": self.shortenings, "summaries": self.summaries,
                            "peak_prompt_tokens": self.peak_prompt_tokens}}

    def manage(self, messages: list[dict], sent: int, known_tokens: int,
               overflow: ContextTooLongError | None = None) -> tuple[list[dict], int, int]:
        """Compact as far as needed; returns (messages, sent, known_tokens) for the loop to carry on with.

        `known_tokens` is the real prompt size of messages[:sent] (0: unknown); `overflow` is GLM's refusal of
        the last request as too long, which forces a summary. A rebuilt conversation comes back with sent 0.
        A prompt about to be sent whole calibrates the estimate against the size GLM reports for it."""
        out = self._manage(messages, sent, known_tokens, overflow)
        if out[1] == 0:
            self._scratch = (self._tools_chars + _chars(out[0])) // 4
        return out

    def _manage(self, messages: list[dict], sent: int, known_tokens: int,
                overflow: ContextTooLongError | None) -> tuple[list[dict], int, int]:
        window, ctx = self.ctx.window, self.ctx
        estimate = self._estimate(messages, sent, known_tokens)
        if overflow is None and estimate < window * ctx.shorten_at:
            return messages, sent, known_tokens
        cut = shorten_old(messages, keep_steps=ctx.keep_recent_steps, keep_chars=ctx.keep_chars, done=self._done,
                          min_chars=0 if overflow else int(window * ctx.shorten_min_share * 4))
        if cut:
            known_tokens = max(0, known_tokens - cut.chars_cut // 4) if known_tokens else 0
            after = self._estimate(messages, sent, known_tokens)
            self.shortenings += 1
            self._emit("compaction", stage="shorten", reason=OVERFLOW if overflow else THRESHOLD, step=self._step,
                       prompt_tokens_before=estimate, prompt_tokens_after=after,
                       results_shortened=len(cut.messages), reasoning_dropped=len(cut.reasoning_dropped),
                       chars_cut=cut.chars_cut, messages=cut.messages, reasoning_dropped_at=cut.reasoning_dropped)
            estimate = after
        reason = OVERFLOW if overflow else THRESHOLD
        floor = max(self._floor, self._estimate(messages[:2], 0, 0))  # no summary can get the prompt below it
        self._instructions = []
        if overflow is not None or estimate >= window * ctx.summarize_at:
            skip, self._instructions = self._pre_compact(len(messages))
            if skip and overflow is None:  # a pre_compact hook asked to wait; a refused request cannot wait
                self._emit("compaction", stage="skipped", reason=skip, step=self._step, prompt_tokens_before=estimate)
                return messages, sent, known_tokens
        while overflow is not None or estimate >= window * ctx.summarize_at:
            if overflow is None and floor >= window * ctx.summarize_at and estimate < window * ctx.exhausted_at:
                break  # a summary cannot get under summarize_at: keep them for when the prompt nears the end
            if not any(m["role"] == "assistant" for m in messages[2:]) or self._in_a_row >= ctx.max_compactions:
                if overflow is None and estimate < window * ctx.exhausted_at:
                    break  # nothing more to gain, but it may still fit: GLM will say (and one overflow is handled)
                raise ContextExhausted(self._exhausted(messages, estimate, overflow))
            messages = self._summarize(messages, reason, estimate)
            sent, known_tokens, overflow, reason = 0, 0, None, STILL_TOO_LONG
            estimate = self._estimate(messages, 0, 0)
        return messages, sent, known_tokens

    def _pre_compact(self, count: int) -> tuple[str | None, list[str]]:
        """The pre_compact hooks' answer, when the toolset has hooks (glm_agent.tools.hooks): (skip, instructions)."""
        ask = getattr(self.toolset, "pre_compact", None)
        if ask is None:
            return None, []
        decision = ask("auto", count)
        return decision.skip, list(decision.instructions)

    def _estimate(self, messages: list[dict], sent: int, known_tokens: int) -> int:
        """Tokens: the real count of messages[:sent] (when known) plus the rest at ~4 characters per token,
        scaled by what the real counts showed so far."""
        if not known_tokens:
            return int((self._tools_chars + _chars(messages)) / 4 * self._ratio)
        return known_tokens + int(_chars(messages[sent:]) / 4 * self._ratio)

    def _summarize(self, messages: list[dict], reason: str, estimate: int) -> list[dict]:
        """Ask GLM for the summary (the same tools, for the cache), then rebuild the conversation around it."""
        source = messages if reason != OVERFLOW else _squeezed(messages, self.ctx.keep_chars)
        text = render("compact_summary", marker=SUMMARY_MARKER, instructions=self._instructions)
        request = [*source, {"role": "user", "content": text}]
        summary, no_summary, turn = "", "", None
        try:
            turn = self.model.complete(request, self._tools, stream=self._stream)
        except ContextTooLongError as exc:
            no_summary = f"the conversation was too long to summarize ({exc.code or 'context window'})"
        if turn is not None:
            self._charge(turn)
            summary = (turn.content or "").strip()
            no_summary = "" if summary else "the model answered without text"
        self._in_a_row += 1
        self.summaries += 1
        rebuilt, kept = self._rebuild(messages, summary, no_summary)
        self._emit("compaction", stage="summary", reason=reason, step=self._step, number=self.summaries,
                   in_a_row=self._in_a_row, prompt_tokens_before=estimate,
                   prompt_tokens_after=self._estimate(rebuilt, 0, 0), summary=summary or None,
                   no_summary=no_summary or None, kept_steps=kept,
                   usage=turn.usage.as_dict() if turn else None, cost_usd=turn.cost_usd if turn else 0.0,
                   request_id=turn.request_id if turn else None)
        return rebuilt

    def _rebuild(self, messages: list[dict], summary: str, no_summary: str) -> tuple[list[dict], int]:
        """system + task (verbatim) + the compaction message + the most recent whole steps that fit the budget:
        `keep_recent_tokens`, halved for each compaction in a row, and at most half the room left under
        `shorten_at`. Starting the kept part at an assistant message keeps every tool result right after its
        call, so the wire shape stays valid."""
        facts = {"number": self.summaries, "summary": summary, "no_summary": no_summary, "plan": self._plan(),
                 "files": self.toolset.changed_paths(), "diff_stat": self._stat()}
        alone = [messages[0], messages[1], {"role": "user", "content": self._context(facts, messages, [])}]
        room = int(self.ctx.window * self.ctx.shorten_at) - self._estimate(alone, 0, 0)
        budget = min(self.ctx.keep_recent_tokens >> (self._in_a_row - 1), max(0, room) // 2)
        keep_from, used = len(messages), 0
        for start in reversed([i for i, m in enumerate(messages) if i >= 2 and m["role"] == "assistant"]):
            size = _chars(messages[start:keep_from]) // 4
            if used + size > budget:
                break
            keep_from, used = start, used + size
        kept = messages[keep_from:]
        self._done = {i - keep_from + 3 for i in self._done if i >= keep_from}
        rebuilt = [messages[0], messages[1], {"role": "user", "content": self._context(facts, messages, kept)}, *kept]
        if not kept:  # nothing older is left to give up: no later summary can go below this
            self._floor = self._estimate(rebuilt, 0, 0)
        return rebuilt, sum(m["role"] == "assistant" for m in kept)

    def _context(self, facts: dict, messages: list[dict], kept: list[dict]) -> str:
        """The compaction message; the last failing command is left out when its result is among the kept steps."""
        kept_ids = {m.get("tool_call_id") for m in kept}
        failure = self._failure if self._failure and self._failure["id"] not in kept_ids else None
        return render("compacted", **facts, failure=failure and self._failure_view(failure),
                      kept=sum(m["role"] == "assistant" for m in kept))

    def _failure_view(self, failure: dict) -> dict:
        text, limit = failure["text"], self.ctx.failure_chars
        tail = text[-limit:] if limit else ""
        return {**failure, "tail": tail, "chars": len(text), "cut": len(tail) < len(text)}

    def _plan(self) -> list[dict]:
        """The toolset's current plan ({step, status} items) when it has one (an update_plan tool)."""
        plan = getattr(self.toolset, "plan", None)
        return list(plan() or []) if callable(plan) else []

    def _stat(self) -> str:
        if self._diff_stat is None:
            return ""
        try:
            return self._diff_stat().strip()
        except Exception as exc:  # the summary must not fail on git: say so and go on
            return f"(git diff --stat failed: {exc})"

    def _exhausted(self, messages: list[dict], estimate: int, overflow: ContextTooLongError | None) -> str:
        floor = self._estimate(messages[:2], 0, 0)
        why = f"GLM refused the prompt as too long ({overflow})" if overflow else (
            f"the prompt is still ~{estimate} tokens of the {self.ctx.window}-token window")
        done = (f"after {self._in_a_row} compaction(s) in a row without a model answer in between"
                if self._in_a_row else "and no step is there to compact yet")
        return f"{why} {done}; the system prompt, tools and task message alone are ~{floor} tokens"


def _command(arguments: str | None) -> str:
    try:
        return str(json.loads(arguments or "{}").get("command", ""))
    except (ValueError, AttributeError):
        return str(arguments or "")


def _squeezed(messages: list[dict], keep_chars: int) -> list[dict]:
    """A copy for the summary request after GLM refused the prompt: every result but the last step's shortened,
    all reasoning but the last step's dropped (the conversation itself is not touched)."""
    copy = [dict(m) for m in messages]
    shorten_old(copy, keep_steps=1, keep_chars=keep_chars, done=set())
    return copy
