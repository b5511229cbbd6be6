"""The planner loop: ask the model, run its tool calls, feed the results back, stop for one stated reason."""
from __future__ import annotations

import time
from typing import Any, Callable, Protocol

from glm_agent.config.settings import Config
from glm_agent.core.compaction import Compactor
from glm_agent.core.result import RunResult
from glm_agent.core.resumed import Carried
from glm_agent.core.stops import (
    API_ERROR,
    CRASHED,
    INTERRUPTED,
    INTERRUPTED_BY_USER,
    LIMIT_REACHED,
    ContextExhausted,
    Deadline,
    FormatErrors,
    LimitReached,
    NoAction,
    Stop,
    Stuck,
    Submitted,
)
from glm_agent.core.turn import AssistantTurn, OnDelta, Usage
from glm_agent.glm.errors import ContextTooLongError, GLMError
from glm_agent.prompts import Templates
from glm_agent.tools import EndRun

EventSink = Callable[[dict], None]
_NO_DEADLINE = object()  # the model has no deadline attribute


class Model(Protocol):
    def complete(self, messages: list[dict], tools: list[dict] | None = None, *, stream: bool = True,
                 on_delta: OnDelta | None = None) -> AssistantTurn: ...


class Agent:
    """One run of GLM against a toolset; `on_event` receives every recordable event, `on_delta` the live stream."""

    def __init__(self, model: Model, toolset, config: Config | None = None, *,
                 on_event: EventSink | None = None, on_delta: OnDelta | None = None,
                 diff_stat: Callable[[], str] | None = None):
        """`diff_stat()`: the run's changes as `git diff --stat`, shown after a compaction (the jobs pass it)."""
        self.model, self.toolset, self.config = model, toolset, config or Config()
        self.on_event, self.on_delta, self.diff_stat = on_event or (lambda event: None), on_delta, diff_stat
        self.messages: list[dict] = []
        self.render = Templates(self.config.prompts.folder).render  # the built-in prompts, or the configured ones

    def run(self, task: str, *, prompt: str | None = None, carried: Carried | None = None) -> RunResult:
        """Run until a stop; `prompt` is the rendered first user message (default: the task itself); `carried`,
        the conversation and spending of the run this one resumes (then neither the task nor prompt is sent)."""
        carried = carried or Carried([{"role": "system", "content": self.render("system")},
                                      {"role": "user", "content": prompt or task}])
        self.messages = [dict(message) for message in carried.messages]
        self._sent, self._steps, self._cost = 0, carried.steps, carried.cost_usd
        self._usage = Usage(**carried.usage)
        self._tools = self.toolset.schemas()  # fixed for the run (and byte-stable, for the prompt cache)
        self._started, self._warned, self._idle, self._malformed = time.monotonic() - carried.elapsed_s, False, 0, 0
        self._last_call, self._repeats, self._prompt_tokens = None, 0, 0
        self._context = Compactor(self.model, self.toolset, self.config.context, emit=self._emit,
                                  charge=self._charge, stream=self.config.model.stream, diff_stat=self.diff_stat)
        result = {"stop_reason": INTERRUPTED, "summary": "", "error": INTERRUPTED_BY_USER, "limit": None}
        restore = self._hand_deadline()
        try:
            while True:
                self._step()
        except Stop as stop:
            result = {"stop_reason": stop.reason, "summary": stop.summary, "limit": stop.limit,
                      "error": None if isinstance(stop, Submitted) else str(stop)}
        except GLMError as exc:
            result = {"stop_reason": API_ERROR, "summary": "", "error": str(exc), "limit": None}
            if exc.out_of_time:  # retryable, but the wait would outlast the run's time limit: that limit ends it
                result.update(stop_reason=LIMIT_REACHED, limit="timeout",
                              error=f"timeout limit reached ({self.config.limits.timeout:g}s): no time left to "
                                    f"wait and retry {exc}")
        except EndRun as exc:
            result = {"stop_reason": exc.reason, "summary": "", "error": str(exc), "limit": None}
        except Deadline as exc:
            result = {"stop_reason": LIMIT_REACHED, "summary": "", "error": str(exc), "limit": "timeout"}
        except KeyboardInterrupt:
            pass
        except BaseException as exc:
            self._emit("stop", stop_reason=CRASHED, error=repr(exc), steps=self._steps)
            raise
        finally:
            restore()
        run = RunResult(**result, steps=self._steps, usage=self._usage.as_dict(), cost_usd=round(self._cost, 6),
                        files_changed=self.toolset.changed_paths(), extra={**self._context.record(), **_report(self.toolset)})
        self._emit("stop", **run.to_dict("stop_reason", "summary", "error", "limit", "steps", "usage", "cost_usd",
                                         "files_changed"),
                   pending_messages=self.messages[self._sent:])  # never sent: with the requests', the conversation
        return run

    def _hand_deadline(self) -> Callable[[], None]:
        """Give a model with a `deadline` attribute (GLMClient) the end of the run's time limit, so that it makes
        no retry whose wait would outlast the run; returns what puts its own deadline back."""
        timeout, previous = self.config.limits.timeout, getattr(self.model, "deadline", _NO_DEADLINE)
        if not timeout or previous is _NO_DEADLINE:
            return lambda: None
        end = self._started + timeout
        self.model.deadline = end if previous is None else min(previous, end)

        def restore() -> None:
            self.model.deadline = previous
        return restore

    def _step(self) -> None:
        self._check_limits()
        self._manage_context()
        turn = self._ask()
        self.messages.append(turn.to_message())
        if not turn.tool_calls:
            self._idle += 1
            if self._idle >= 2:
                raise NoAction("the model answered twice in a row without calling a tool")
            leaked = "<tool_call>" in f"{turn.content}{turn.reasoning_content}"  # GLM quirk: calls leaked as text
            reason = "leaked_call" if leaked else "truncated" if turn.finish_reason == "length" else "idle"
            self.messages.append({"role": "user", "content": self.render("nudge", reason=reason)})
            self._emit("nudge", reason=reason)
        else:
            self._idle = 0
            self._run_calls(turn)
        self._maybe_warn()

    def _ask(self) -> AssistantTurn:
        """One model call; GLM refusing the prompt as too long (1261) compacts the conversation and retries once."""
        try:
            return self._request()
        except ContextTooLongError as exc:
            self._manage_context(overflow=exc)
        try:
            return self._request()
        except ContextTooLongError as exc:
            raise ContextExhausted(f"GLM refused the prompt as too long again after compacting it: {exc}") from None

    def _request(self) -> AssistantTurn:
        tools = self._tools
        self._emit("request", step=self._steps + 1, messages=[dict(m) for m in self.messages[self._sent:]],
                   **({"tools": tools} if self._sent == 0 else {}))
        self._sent = len(self.messages)
        started = time.monotonic()
        turn = self.model.complete(self.messages, tools, stream=self.config.model.stream, on_delta=self.on_delta)
        self._steps = self._steps + 1
        self._charge(turn)
        self._prompt_tokens = turn.usage.prompt_tokens
        self._emit("response", step=self._steps, latency_s=round(time.monotonic() - started, 3), **_turn_record(turn))
        return turn

    def _charge(self, turn: AssistantTurn) -> None:
        """Count a model call's tokens and cost (the steps' and compaction's summaries alike)."""
        self._usage, self._cost = self._usage + turn.usage, self._cost + turn.cost_usd

    def _run_calls(self, turn: AssistantTurn) -> None:
        malformed = 0
        for call in turn.tool_calls:
            self._emit("tool_call", step=self._steps, id=call.id, name=call.name, arguments=call.arguments)
            result = self.toolset.dispatch(call.name, call.arguments)
            text = result.text
            if result.is_error and turn.finish_reason == "length":  # the error is only the visible half of it
                text += "\n\n" + self.render("truncated")
            self._emit("tool_result", step=self._steps, id=call.id, name=call.name, text=text,
                       is_error=result.is_error)
            self.messages.append({"role": "tool", "tool_call_id": call.id, "content": text})
            if result.event:  # what the tool wants recorded: a refused finish, a new plan
                self.on_event({**result.event, "step": self._steps})
            if result.finish_summary is not None:
                raise Submitted(summary=result.finish_summary)
            if result.malformed:
                malformed, self._last_call = malformed + 1, None  # counted as a format error, not as stuck
            else:
                self._count_repeat((call.name, call.arguments, result.text))
        self._malformed = self._malformed + 1 if malformed == len(turn.tool_calls) else 0
        if self._malformed >= self.config.limits.max_format_errors:
            raise FormatErrors(f"{self._malformed} malformed turns in a row (tool calls that could not be parsed)")

    def _count_repeat(self, key: tuple) -> None:
        self._repeats = self._repeats + 1 if key == self._last_call else 1
        self._last_call = key
        if self._repeats >= self.config.limits.stuck_repeats:
            raise Stuck(f"the same {key[0]} call returned the same result {self._repeats} times in a row")

    def _budgets(self) -> list[tuple[str, float, float]]:
        limits = self.config.limits
        budgets = [("max_steps", self._steps, limits.max_steps),
                   ("max_cost_usd", self._cost, limits.max_cost_usd),
                   ("max_total_tokens", self._usage.total_tokens, limits.max_total_tokens),
                   ("timeout", time.monotonic() - self._started, limits.timeout)]
        return [(name, used, budget) for name, used, budget in budgets if budget]

    def _check_limits(self) -> None:
        for name, used, budget in self._budgets():
            if used >= budget:
                raise LimitReached(f"{name} limit reached: {_num(used)} of {_num(budget)}", limit=name)

    def _maybe_warn(self) -> None:
        """One soft-landing warning, appended to the last tool result so no user turn breaks interleaved thinking."""
        if self._warned:
            return
        for name, used, budget in self._budgets():
            if name == "max_steps":
                used += 1  # the warning goes out with the next request, which is itself a step
            if used >= budget * self.config.limits.warn_at:
                text = self.render("limit_warning", limit=name, used=_num(used), budget=_num(budget),
                                   percent=round(100 * used / budget))
                self.messages[-1]["content"] += "\n\n" + text
                self._warned = True
                self._emit("warning", limit=name, text=text)
                return

    def _manage_context(self, overflow: ContextTooLongError | None = None) -> None:
        """Compaction (core.compaction) decides; a rebuilt conversation is recorded whole with the next request."""
        self.messages, self._sent, self._prompt_tokens = self._context.manage(
            self.messages, self._sent, self._prompt_tokens, overflow)

    def _emit(self, kind: str, **data: Any) -> None:
        event = {"type": kind, **data}
        self._context.observe(event)
        self.on_event(event)


def _turn_record(turn: AssistantTurn) -> dict:
    """The turn as recorded: raw tool-call arguments (malformed ones too) so replay can reproduce it."""
    return {"content": turn.content, "reasoning_content": turn.reasoning_content,
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in turn.tool_calls],
            "finish_reason": turn.finish_reason, "usage": turn.usage.as_dict(), "cost_usd": turn.cost_usd,
            "request_id": turn.request_id, "model": turn.model}


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _report(toolset) -> dict:
    """What the tools leave for the result (the plan, refused finishes); a toolset without report() leaves nothing."""
    report = getattr(toolset, "report", None)
    return report() if report else {}
