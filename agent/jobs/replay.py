"""Replay a recorded run: feed its model turns through the real loop and tools, report where tool results differ."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from glm_agent.core.stops import UserError
from glm_agent.core.turn import AssistantTurn, ToolCall, Usage
from glm_agent.jobs.records import read_events

_DURATION = re.compile(r"\b\d+\.\d+s\b")


class ReplayError(UserError):
    """The run directory cannot be replayed (missing or unreadable trajectory); the CLI exits with 2."""


def replay(run_dir: Path, repo: Path | None = None) -> dict:
    """Replay into `repo`, or into a fresh clone at the run's recorded starting state when None."""
    from glm_agent.config.settings import Config
    from glm_agent.core.loop import Agent
    from glm_agent.testing.models import ScriptedModel, ScriptExhausted
    from glm_agent.tools import build_toolset

    run_dir = Path(run_dir)
    try:
        events = list(read_events(run_dir))
    except OSError as exc:
        raise ReplayError(f"{run_dir}: no readable trajectory.jsonl ({exc})") from None
    start = next((e for e in events if e["type"] == "start"), None)
    if start is None:
        raise ReplayError(f"{run_dir}: the trajectory has no start event")
    recorded = [e for e in events if e["type"] == "tool_result"]
    turns = [_turn(e) for e in events if e["type"] == "response"]
    with tempfile.TemporaryDirectory(prefix="glm-agent-replay-") as tmp:
        target = Path(repo).resolve() if repo else _clone_start(start, Path(tmp) / "repo")
        replayed: list[dict] = []
        collect = lambda event: replayed.append(event) if event["type"] == "tool_result" else None  # noqa: E731
        config = Config.from_dict(start["config"])
        toolset = build_toolset(target, evidence=config.limits.evidence_before_finish)  # the run's own finish rule
        agent = Agent(ScriptedModel(turns), toolset, config, on_event=collect)
        try:
            stop = agent.run(start["task"]).stop_reason
        except ScriptExhausted:
            stop = "ran out of recorded turns"
    differences = _compare(recorded, replayed, start["repo"], str(target))
    recorded_stop = next((e["stop_reason"] for e in reversed(events) if e["type"] == "stop"), None)
    return {"run_dir": str(run_dir), "repo": str(target) if repo else "(temporary clone)",
            "tool_calls": len(recorded), "matched": len(recorded) - len(differences),
            "recorded_stop": recorded_stop, "replayed_stop": stop, "differences": differences}


def render_report(outcome: dict) -> str:
    """A short human report: one line per differing tool call, with the first differing line of each side."""
    lines = [f"replayed {outcome['tool_calls']} tool calls from {outcome['run_dir']}: {outcome['matched']} identical",
             f"stop: recorded {outcome['recorded_stop']}, replayed {outcome['replayed_stop']}"]
    for diff in outcome["differences"]:
        lines.append(f"- call {diff['index']} ({diff['tool']}, step {diff['step']}): {diff['what']}")
        lines.append(f"    recorded: {diff['recorded']}")
        lines.append(f"    replayed: {diff['replayed']}")
    return "\n".join(lines)


def _turn(event: dict) -> AssistantTurn:
    calls = [ToolCall(c["id"], c["name"], c["arguments"]) for c in event.get("tool_calls") or []]
    return AssistantTurn(content=event.get("content"), reasoning_content=event.get("reasoning_content"),
                         tool_calls=calls, finish_reason=event.get("finish_reason"),
                         usage=Usage(**event.get("usage") or {}), cost_usd=event.get("cost_usd") or 0.0)


def _clone_start(start: dict, target: Path) -> Path:
    """A clone sharing the source's objects, checked out at the pre-run snapshot (uncommitted work included)."""
    from glm_agent.git.repo import Git, GitSafetyError

    source = Git(Path(start["repo"]))
    revision = source.rev(f"refs/glm-agent/{start['run_id']}/worktree") or start.get("head")
    if not revision:
        raise ReplayError(f"{source.root}: neither the run's snapshot ref nor its start commit is available")
    try:
        source.run("clone", "-q", "--shared", "--no-checkout", ".", str(target))
        Git(target).run("-c", "advice.detachedHead=false", "checkout", "-q", revision)
    except GitSafetyError as exc:
        raise ReplayError(str(exc)) from None
    return target


def _compare(recorded: list[dict], replayed: list[dict], recorded_root: str, replayed_root: str) -> list[dict]:
    differences = []
    for index, old in enumerate(recorded):
        new = replayed[index] if index < len(replayed) else None
        base = {"index": index + 1, "step": old["step"], "tool": old["name"]}
        if new is None:
            differences.append({**base, "what": "not replayed", "recorded": _first_line(old["text"]), "replayed": "-"})
            continue
        a, b = _normal(old["text"], recorded_root), _normal(new["text"], replayed_root)
        if a != b or old["is_error"] != new["is_error"]:
            line = next((i for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines())) if x != y),
                        min(len(a.splitlines()), len(b.splitlines())))
            differences.append({**base, "what": f"result differs at line {line + 1}",
                                "recorded": _line(a, line), "replayed": _line(b, line)})
    for index, new in enumerate(replayed[len(recorded):], start=len(recorded)):
        differences.append({"index": index + 1, "step": new["step"], "tool": new["name"], "what": "extra call",
                            "recorded": "-", "replayed": _first_line(new["text"])})
    return differences


def _normal(text: str, root: str) -> str:
    """Hide what legitimately changes between runs: the repository's path and timings."""
    return _DURATION.sub("<t>s", text.replace(root, "<repo>"))


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number][:200] if number < len(lines) else "(end of output)"


def _first_line(text: str) -> str:
    return _line(text, 0)
