"""The four hook events: what each hook is sent, and what its answer does.

| event (config key) | hook_event_name | may |
|---|---|---|
| pre_tool | PreToolUse | block the call with a reason the model reads, rewrite its arguments, add context |
| post_tool | PostToolUse | append a note to the result the model reads |
| stop | Stop | refuse the model's finish with a reason (like fix's check gate) |
| pre_compact | PreCompact | add instructions to a compaction, or ask that this one be skipped |

pre_compact: before it asks GLM for a summary, glm_agent.core.compaction calls `Hooks.pre_compact(trigger,
messages)` (through `HookedToolset.pre_compact`) and honours the PreCompact it returns: `skip` (a reason) means
no summary now (unless GLM already refused the prompt); `instructions` are added to the summary request.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from glm_agent.tools.hooks.runner import Answer, run_hook

log = logging.getLogger("glm_agent.hooks")
EVENT_NAMES = {"pre_tool": "PreToolUse", "post_tool": "PostToolUse", "stop": "Stop", "pre_compact": "PreCompact"}


@dataclass(frozen=True)
class PreTool:
    """A pre_tool outcome: `block` set refuses the call; `tool_input` are the arguments to run it with."""

    tool_input: dict
    block: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PreCompact:
    """A pre_compact outcome, for the compaction code: skip it (the reason), or add these instructions."""

    skip: str | None = None
    instructions: list[str] = field(default_factory=list)


class Hooks:
    """The configured hook commands of one run (a glm_agent.config HooksSettings), run in config order."""

    def __init__(self, settings: Any, root: Path, run_id: str, env: dict[str, str],
                 on_event: Callable[[dict], None] = lambda event: None, transcript: Path | None = None):
        self._settings, self._root, self._run_id, self._on_event = settings, Path(root), run_id, on_event
        self._env = {**env, "GLM_AGENT_PROJECT_DIR": str(root), "CLAUDE_PROJECT_DIR": str(root),
                     "GLM_AGENT_RUN_ID": run_id}
        self._transcript = str(transcript) if transcript else None
        self._stop_refused = False

    def __bool__(self) -> bool:
        return any(getattr(self._settings, event) for event in EVENT_NAMES)

    def pre_tool(self, name: str, tool_input: dict, call_id: str | None = None) -> PreTool:
        notes = []
        for hook, answer in self._run("pre_tool", name, tool_name=name, tool_input=tool_input, tool_use_id=call_id):
            if answer.block:
                return PreTool(tool_input, block=answer.block, notes=notes)
            if answer.updated_input is not None:
                tool_input = answer.updated_input
                self._record("pre_tool", hook, "rewrote", tool_input)
            if answer.context:
                notes.append(answer.context)
        return PreTool(tool_input, notes=notes)

    def post_tool(self, name: str, tool_input: dict, text: str, is_error: bool, call_id: str | None = None) -> list[str]:
        """Notes for the model: a hook's additionalContext, or its reason when it exits 2 or says "block"."""
        response = {"text": text, "is_error": is_error}
        return [answer.block or answer.context for _, answer in self._run(
            "post_tool", name, tool_name=name, tool_input=tool_input, tool_response=response, tool_use_id=call_id)
            if answer.block or answer.context]

    def stop(self, summary: str) -> str | None:
        """The reason the finish is refused, or None; `stop_hook_active` tells a hook it refused once already."""
        for _, answer in self._run("stop", None, summary=summary, stop_hook_active=self._stop_refused):
            if answer.block:
                self._stop_refused = True
                return answer.block
        return None

    def pre_compact(self, trigger: str = "auto", messages: int | None = None) -> PreCompact:
        """Called by the compaction code before it compacts (see the module doc); `trigger` auto or manual."""
        instructions = []
        for _, answer in self._run("pre_compact", None, trigger=trigger, custom_instructions="", messages=messages):
            if answer.block:
                return PreCompact(skip=answer.block, instructions=instructions)
            if answer.context:
                instructions.append(answer.context)
        return PreCompact(instructions=instructions)

    def _run(self, event: str, tool: str | None, **fields: Any) -> list[tuple[Any, Answer]]:
        """Every matching hook's answer, in order, up to the first that blocks."""
        payload = {"hook_event_name": EVENT_NAMES[event], "event": event, "session_id": self._run_id,
                   "run_id": self._run_id, "cwd": str(self._root), "repository": str(self._root),
                   "transcript_path": self._transcript, **fields}
        answers = []
        for hook in _matching(getattr(self._settings, event), tool):
            answer = run_hook(hook.command, hook.timeout, payload, self._root, self._env)
            if answer.problem:
                log.warning("%s hook `%s` ignored: %s", event, hook.command, answer.problem)
                self._record(event, hook, "ignored", answer.problem)
                continue
            if answer.block:
                self._record(event, hook, "blocked", answer.block)
            elif answer.context:
                self._record(event, hook, "noted", answer.context)
            answers.append((hook, answer))
            if answer.block:
                break
            if "tool_input" in payload and answer.updated_input is not None:
                payload = {**payload, "tool_input": answer.updated_input}
        return answers

    def _record(self, event: str, hook: Any, outcome: str, detail: Any) -> None:
        self._on_event({"type": "hook", "event": event, "command": hook.command, "outcome": outcome, "detail": detail})


def _matching(hooks: Sequence[Any], tool: str | None) -> list[Any]:
    """Hooks whose matcher (a regular expression on the whole tool name; empty or * for all) takes `tool`."""
    if tool is None:
        return list(hooks)
    return [hook for hook in hooks if hook.matcher in ("", "*") or re.fullmatch(hook.matcher, tool)]
