"""Live human output of a run: streamed model text, each tool call and its trimmed result, then a summary."""
from __future__ import annotations

import json
import sys
from typing import TextIO

from glm_agent.core.turn import Delta

RESULT_LINES = 8
RESULT_CHARS = 800
# Model text and tool output are untrusted: their control characters (ESC sequences, \r) are shown as symbols
# so they cannot restyle or rewrite the user's terminal.
_CONTROLS = {**{c: chr(0x2400 + c) for c in range(32) if chr(c) not in "\n\t"}, 0x7F: "\u2421", 0x9B: "\u241b"}


class HumanDisplay:
    """Prints as events arrive; never reads the terminal, so it is safe in CI logs too."""

    def __init__(self, out: TextIO | None = None, *, show_reasoning: bool = False):
        self.out = out or sys.stdout
        self.show_reasoning = show_reasoning
        self.color = self.out.isatty()
        self._streamed = False
        self._kind: str | None = None

    def delta(self, delta: Delta) -> None:
        if delta.kind == "content" or (delta.kind == "reasoning" and self.show_reasoning):
            text = _safe(delta.text if delta.kind == self._kind else delta.text.lstrip())
            if not text:
                return  # GLM often sends a bare "\n" of content beside tool calls
            if delta.kind != self._kind and self._streamed:
                self._write("\n")
            if delta.kind == "reasoning" and self._kind != "reasoning":
                text = "thinking: " + text
            self._write(self._dim(text) if delta.kind == "reasoning" else text)
            self._streamed, self._kind = True, delta.kind

    def event(self, event: dict) -> None:
        kind = event["type"]
        if kind == "request":
            self._streamed, self._kind = False, None
        elif kind == "response":
            if not self._streamed and (event.get("content") or "").strip():
                self._write(_safe(event["content"].strip()))
                self._streamed = True
            if self._streamed:
                self._write("\n")
        elif kind == "tool_call":
            self._line(self._bold(f"→ {_safe(event['name'])}") + " " + _safe(_preview(event["arguments"])))
        elif kind == "tool_result":
            if event["name"] == "update_plan" and not event["is_error"]:
                return  # the plan event right after it shows the plan
            self._line(_trim(_safe(event["text"]), "  ✗ " if event["is_error"] else "  │ "))
        elif kind == "retry":  # what streamed before the failure is shown again from the start
            if self._streamed:
                self._write("\n")
            self._streamed, self._kind = False, None
            self._line(self._dim(f"(retrying in {event['delay_s']:g}s: {_safe(event['error'])})"))
        elif kind == "nudge":
            self._line(self._dim("(answer without a tool call: asking the model to continue or finish)"))
        elif kind == "warning":
            self._line(self._dim(f"(budget warning sent to the model: {event['limit']})"))
        elif kind == "compaction":
            self._line(self._dim(_compaction(event)))
        elif kind == "mcp_started":
            self._line(self._dim(f"(MCP: {', '.join(map(_safe, event['servers']))} started in {event['seconds']:g}s, "
                                 f"{len(event['tools'])} tools)"))
        elif kind == "hook" and event["outcome"] == "rewrote":  # blocks show in the result, failures are logged
            rewritten = _safe(_preview(json.dumps(event["detail"])))
            self._line(self._dim(f"({event['event']} hook rewrote the arguments: {rewritten})"))
        elif kind == "plan":
            from glm_agent.tools.plan import render_plan

            self._line(self._bold("plan:") + "\n" + "\n".join(f"  {line}" for line in
                                                             _safe(render_plan(event["steps"])).splitlines()))
        elif kind == "finish_refused":
            self._line(self._dim(f"(finish refused: {event['reason']})"))

    def summary(self, result) -> None:
        """The closing block: stop reason, steps, tokens with the cached share, cost, files, commit."""
        usage = result.usage
        prompt, cached = usage.get("prompt_tokens", 0), usage.get("cached_tokens", 0)
        share = f" ({100 * cached // prompt}% cached)" if prompt else ""
        error, summary, files = _safe(result.error or ""), _safe(result.summary), _safe(", ".join(result.files_changed))
        lines = [
            "",
            self._bold(f"stop: {result.stop_reason}") + (f" ({error})" if error else ""),
            f"steps: {result.steps}",
            f"tokens: {prompt:,} prompt{share} + {usage.get('completion_tokens', 0):,} completion",
            f"cost: ${result.cost_usd:.4f}",
            f"files changed: {files or 'none'}",
            f"commit: {result.commit or 'none'}" + (f" on {result.branch}" if result.branch else ""),
            _sandbox_line(result.sandbox),
        ]
        plan = result.extra.get("plan") or []
        if plan:
            done = sum(step.get("status") == "done" for step in plan)
            lines.insert(-2, f"plan: {done} of {len(plan)} steps done")
        if result.files_changed and not result.commit:
            lines.append("the changes are left uncommitted in the working tree")
        if summary.strip():
            first, *rest = summary.strip().splitlines()
            lines.insert(2, "\n".join([f"summary: {first}", *(f"         {line}" if line else "" for line in rest)]))
        if result.run_dir:
            lines.append(f"record: {result.run_dir}")
        self._line("\n".join(lines))

    def _line(self, text: str) -> None:
        self._write(text + "\n")

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.color else text

    def _bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.color else text


def _compaction(event: dict) -> str:
    tokens = f"~{event['prompt_tokens_before']:,} -> ~{event['prompt_tokens_after']:,} tokens"
    if event["stage"] == "shorten":
        return (f"(context: {tokens}: {event['results_shortened']} old tool results shortened, reasoning of "
                f"{event['reasoning_dropped']} old turns dropped)")
    return f"(context: {tokens}: compacted around a summary, the last {event['kept_steps']} steps kept)"


def _safe(text: str) -> str:
    return text.translate(_CONTROLS)


def _preview(arguments: str, limit: int = 160) -> str:
    """The call's arguments on one line: a bash command as is, anything else as compact JSON."""
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        args = None
    if isinstance(args, dict) and set(args) <= {"command", "timeout"} and "command" in args:
        text = str(args["command"])
    else:
        text = json.dumps(args, ensure_ascii=False) if args is not None else arguments
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _trim(text: str, prefix: str) -> str:
    lines = text[:RESULT_CHARS].splitlines() or [""]
    shown = lines[:RESULT_LINES]
    hidden = len(text.splitlines()) - len(shown)
    if hidden > 0 or len(text) > RESULT_CHARS:
        shown.append(f"… ({hidden} more lines)" if hidden > 0 else "…")
    return "\n".join(prefix + line for line in shown)


def _sandbox_line(sandbox: dict) -> str:
    """`sandbox: bwrap (no network)`, or `sandbox: off (why)`."""
    if sandbox.get("mode") == "bwrap":
        return f"sandbox: bwrap ({'network allowed' if sandbox.get('network') else 'no network'})"
    return f"sandbox: off ({_safe(sandbox.get('reason', ''))})"
