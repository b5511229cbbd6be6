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
    from glm_agent.jobs.sandboxing import job_sandbox
    from glm_agent.testing.models import ScriptExhausted
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
    with tempfile.TemporaryDirectory(prefix="glm-agent-replay-") as tmp:
        target = Path(repo).resolve() if repo else _clone_start(start, Path(tmp) / "repo")
        replayed: list[dict] = []
        collect = lambda event: replayed.append(event) if event["type"] == "tool_result" else None  # noqa: E731
        config = Config.from_dict(start["config"])
        sandbox = job_sandbox(config, target)  # the recorded commands run again: sandboxed as the run was
        toolset = build_toolset(target, sandbox=sandbox, evidence=config.limits.evidence_before_finish)
        agent = Agent(_RecordedModel(events), toolset, config, on_event=collect)
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


class _RecordedModel:
    """The recorded answers: the turns in order, GLM's refusals of a too-long prompt where the record shows a
    compaction they caused, and the recorded summaries for compaction's summary requests (wherever the replayed
    run asks for one, so a summary never takes a step's turn)."""

    def __init__(self, events: list[dict]):
        from glm_agent.glm.errors import ContextTooLongError
        from glm_agent.testing.models import ScriptedModel

        script: list = []
        refused = lambda: ContextTooLongError("recorded: the prompt was refused as too long", code="1261")  # noqa: E731
        for event in events:
            if event["type"] == "response":
                script.append(_turn(event))
            elif event["type"] == "compaction" and event.get("reason") == "context_too_long" and not (
                    script and isinstance(script[-1], ContextTooLongError)):
                script.append(refused())
            elif event["type"] == "stop" and "again after compacting" in str(event.get("error")):
                script.append(refused())
        self.turns = ScriptedModel(script)
        self.summaries = [e.get("summary") or "" for e in events if e["type"] == "compaction" and e["stage"] == "summary"]

    def complete(self, messages: list[dict], tools: list[dict] | None = None, **options) -> AssistantTurn:
        from glm_agent.core.compaction import is_summary_request

        if is_summary_request(messages):
            return AssistantTurn(content=self.summaries.pop(0) if self.summaries else "(no summary recorded)")
        return self.turns.complete(messages, tools, **options)


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
