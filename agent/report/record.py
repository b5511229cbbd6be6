"""A run record read for the report: the events grouped into steps, the header facts, and the run's diff.

Secrets are scrubbed from the raw text before anything is parsed: the key names' values and those the run's
config named (tools.extra_env_remove), as the run record's own scrubbing does.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from glm_agent.jobs.records import Redactor, secret_values
from glm_agent.tools.secretenv import SECRET_ENV

RESULT_LIMIT = 20_000  # characters of one tool result kept in the report (head and tail); the record has them all
_STEP_EVENTS = {"request", "response", "tool_call", "tool_result"}


@dataclass
class Call:
    id: str
    name: str
    arguments: str
    result: str | None = None
    is_error: bool = False
    cut: int = 0  # characters of the result left out


@dataclass
class Step:
    number: int
    latency_s: float = 0.0
    thinking: str = ""
    text: str = ""
    usage: dict = field(default_factory=dict)
    cost_usd: float = 0.0
    calls: list[Call] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)  # nudges, warnings, plans, compactions... after the calls


@dataclass
class RunView:
    run_dir: Path
    start: dict
    result: dict
    steps: list[Step]
    before: list[dict]  # events before the first step (retries, plans made up front)
    duration_s: float
    diff: str
    scrub: Callable[[str], str]


def load_run(run_dir: Path) -> RunView:
    run_dir = Path(run_dir)
    raw = (run_dir / "trajectory.jsonl").read_text(encoding="utf-8", errors="replace")
    start = _first_start(raw)
    hidden = start.get("config", {}).get("tools", {}).get("extra_env_remove", [])
    scrub = Redactor(secret_values([*SECRET_ENV, *hidden]))
    events = [_load(line) for line in scrub(raw).splitlines()]
    events = [e for e in events if isinstance(e, dict) and "type" in e]
    result_file = run_dir / "result.json"
    result = json.loads(scrub(result_file.read_text(encoding="utf-8"))) if result_file.is_file() else _from_stop(events)
    times = [e["t"] for e in events if isinstance(e.get("t"), (int, float))]
    steps, before = _steps(events)
    from glm_agent.report.diff import run_diff

    repo = Path(start.get("repo") or run_dir.resolve().parents[2])
    return RunView(run_dir, next((e for e in events if e["type"] == "start"), {}), result, steps, before,
                   round(max(times) - min(times), 1) if times else 0.0, scrub(run_diff(repo, run_dir.name)), scrub)


def _first_start(raw: str) -> dict:
    first = _load(raw.split("\n", 1)[0])
    return first if isinstance(first, dict) and first.get("type") == "start" else {}


def _load(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:  # a torn last line (the run was killed mid-write)
        return None


def _from_stop(events: list[dict]) -> dict:
    """A run without result.json (killed): what its last stop event said, else 'crashed'."""
    stops = [e for e in events if e["type"] == "stop"]
    return {k: v for k, v in stops[-1].items() if k not in ("type", "t")} if stops else {"stop_reason": "crashed"}


def _steps(events: list[dict]) -> tuple[list[Step], list[dict]]:
    steps: list[Step] = []
    before: list[dict] = []
    calls: dict[str, Call] = {}
    for event in events:
        kind = event["type"]
        if kind == "request":
            steps.append(Step(event.get("step", len(steps) + 1)))
        elif kind in ("start", "stop"):
            continue
        elif not steps:
            before.append(event)
        elif kind == "response":
            _response(steps[-1], event)
        elif kind == "tool_call":
            call = calls[event.get("id") or str(len(calls))] = Call(event.get("id", ""), event.get("name", "?"),
                                                                   event.get("arguments") or "")
            steps[-1].calls.append(call)
        elif kind == "tool_result":
            call = calls.get(event.get("id") or "")
            if call is None:  # a result without its call: keep it visible anyway
                call = Call(event.get("id", ""), event.get("name", "?"), "")
                steps[-1].calls.append(call)
            call.result, call.cut = _cut(event.get("text") or "")
            call.is_error = bool(event.get("is_error"))
        elif kind not in _STEP_EVENTS:
            steps[-1].notes.append(event)
    return steps, before


def _response(step: Step, event: dict) -> None:
    step.latency_s = event.get("latency_s") or 0.0
    step.thinking = (event.get("reasoning_content") or "").strip()
    step.text = (event.get("content") or "").strip()
    step.usage = event.get("usage") or {}
    step.cost_usd = event.get("cost_usd") or 0.0


def _cut(text: str) -> tuple[str, int]:
    if len(text) <= RESULT_LIMIT:
        return text, 0
    half = RESULT_LIMIT // 2
    return text[:half] + "\n…\n" + text[-half:], len(text) - 2 * half
