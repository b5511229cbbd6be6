"""Resume a recorded run: the conversation rebuilt from its record, on its branch, its budgets counted on.

A resumed run gets a new run id and record (linked by `resumed_from` in its start event and result), starts from
the original run's starting snapshot (so its commit and `undo` cover the whole run) and refuses, with the reason
and what to do, when the repository has moved on in a way that conflicts.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from glm_agent.core.resumed import Carried
from glm_agent.core.stops import CRASHED, NOTHING_TO_FIX, SETUP_FAILED, UserError
from glm_agent.jobs.records import RUNS_DIR, new_run_id, read_events
from glm_agent.jobs.run import Job

NOT_RESUMABLE = (CRASHED, SETUP_FAILED, NOTHING_TO_FIX)


class ResumeError(UserError):
    """The run cannot be resumed here and now; the message says why and what to do (exit code 2)."""


@dataclass
class Record:
    """A recorded run, as resume needs it: its start event, result.json and events."""

    root: Path
    run_id: str
    start: dict
    result: dict
    events: list[dict]

    @property
    def config(self) -> dict:
        return self.start.get("config", {})


def find_run(repo: Path, run_id: str | None) -> Record:
    """The run `run_id` recorded in the repository holding `repo`, or its last run when None."""
    from glm_agent.git.repo import open_repo

    root = open_repo(Path(repo).resolve()).root
    runs = root / RUNS_DIR
    if run_id is None:
        trajectories = [p / "trajectory.jsonl" for p in runs.iterdir()] if runs.is_dir() else []
        recorded = sorted((t.stat().st_mtime_ns, t.parent.name) for t in trajectories if t.is_file())  # last active
        if not recorded:
            raise ResumeError(f"no run is recorded in {runs}: there is nothing to continue; start one with "
                              "glm-agent run \"TASK\"")
        run_id = recorded[-1][1]
    run_dir = runs / run_id
    if "/" in run_id or run_id.startswith(".") or not (run_dir / "trajectory.jsonl").is_file():
        raise ResumeError(f"no run {run_id!r} is recorded in {runs}; `ls {runs}` lists the runs")
    try:
        result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ResumeError(f"run {run_id} has no readable result.json: it is still running, or it was killed "
                          "before it could end; its changes (if any) are in the working tree, start a new run "
                          "to go on") from None
    events = list(read_events(run_dir))
    start = next((e for e in events if e["type"] == "start"), {})
    return Record(root, run_id, start, result, events)


def check_resumable(record: Record) -> None:
    """Refuse a run that cannot go on, or a repository that moved on: another branch, the run's files changed."""
    from glm_agent.git.repo import Git

    reason, run_id = record.result.get("stop_reason"), record.run_id
    if reason in NOT_RESUMABLE or not any(e["type"] == "request" for e in record.events):
        raise ResumeError(f"run {run_id} ended as {reason} with no conversation to continue; start a new run")
    if record.result.get("extra", {}).get("check_command"):
        raise ResumeError(f"run {run_id} was gated by a check (`{record.result['extra']['check_command']}`), and "
                          "resuming a checked run is not supported yet; start a new run with --check")
    git = Git(record.root)
    branch, current = record.result.get("branch"), git.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
    if (branch or "") != current:
        raise ResumeError(f"run {run_id} worked on branch {branch or '(detached HEAD)'}, but "
                          f"{current or 'a detached HEAD'} is checked out; `git switch {branch}` first, then resume")
    end = git.ref_path(run_id, "end-worktree")
    if not git.rev(end):
        raise ResumeError(f"run {run_id} did not record its end state ({end}); start a new run")
    files = set(record.result.get("files_changed") or [])
    moved = sorted(files & set(git.changed(git.tree_of(end), git.worktree_tree()))) if files else []
    if moved:
        raise ResumeError(f"the files of run {run_id} changed since it stopped: {', '.join(moved)}; resuming would "
                          f"build on a state the conversation does not know. Commit or stash your edits and put the "
                          f"files back as the run left them (git restore --source={end} -- PATH), or start a new "
                          "run")


def resume_job(record: Record, config, follow_up: str | None) -> Job:
    """The job that continues the run: its conversation, its spending, a resume message, its branch."""
    from glm_agent.prompts import render

    result, task = record.result, record.start.get("task", "")
    messages = conversation(record.events)
    messages.append({"role": "user", "content": render("resume", stop_reason=result.get("stop_reason"),
                                                       error=result.get("error"), follow_up=follow_up or "")})
    worked = bool(result.get("files_changed")) or any(
        e["type"] == "tool_call" and e.get("name") == "bash" for e in record.events)
    carried = Carried(messages, steps=result.get("steps", 0), usage=result.get("usage", {}),
                      cost_usd=result.get("cost_usd", 0.0), elapsed_s=_elapsed(record),
                      plan=result.get("extra", {}).get("plan", []), worked=worked)
    return Job(task, record.root, config, branch=None, run_id=new_run_id(task), resumes=record.run_id,
               carried=carried)


def conversation(events: list[dict]) -> list[dict]:
    """The messages as they stood when the run stopped, rebuilt from the record as docs/cli.md says: a request
    that carries `tools` starts the conversation anew (the first, and the one after each summary), the others add
    their new messages; a `shorten` compaction rewrites messages by index and drops old reasoning; then what was
    never sent."""
    messages: list[dict] = []
    for event in events:
        kind = event["type"]
        if kind == "request":
            messages = list(event["messages"]) if "tools" in event else messages + event["messages"]
        elif kind == "compaction" and event.get("stage") == "shorten":
            for index, text in event.get("messages", {}).items():
                messages[int(index)] = {**messages[int(index)], "content": text}
            for index in event.get("reasoning_dropped_at", []):
                messages[index] = {k: v for k, v in messages[index].items() if k != "reasoning_content"}
        elif kind == "stop":
            messages = messages + event.get("pending_messages", [])
    return _answered([dict(message) for message in messages])


def _answered(messages: list[dict]) -> list[dict]:
    """Every tool call of the last assistant turn answered (a run stopped mid-turn left some without a result)."""
    last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i]["role"] == "assistant"), None)
    if last is None or not messages[last].get("tool_calls"):
        return messages
    answered = {m.get("tool_call_id") for m in messages[last + 1:] if m["role"] == "tool"}
    missing = [{"role": "tool", "tool_call_id": call["id"], "content": "(not run: the run stopped before this call)"}
               for call in messages[last]["tool_calls"] if call["id"] not in answered]
    tools_end = last + 1 + sum(1 for m in messages[last + 1:] if m["role"] == "tool")
    return messages[:tools_end] + missing + messages[tools_end:]


def _elapsed(record: Record) -> float:
    """Wall-clock seconds the run has used: its own, plus what it carried from a run it resumed."""
    stop = next((e for e in reversed(record.events) if e["type"] == "stop"), None)
    own = (stop["t"] - record.start["t"]) if stop and "t" in record.start else 0.0
    return round(record.start.get("elapsed_before_s", 0.0) + max(own, 0.0), 3)
