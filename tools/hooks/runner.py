"""Running one hook command: the event as one JSON object on stdin, the answer read from its exit code or its JSON.

The contract follows Claude Code's hooks where they have an equivalent, so its hook scripts need little change:
exit 0 goes on (a JSON object on stdout may decide more), exit 2 blocks with stderr as the reason, anything else
(a crash, a timeout, unreadable JSON) is logged and ignored.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("glm_agent.hooks")
_MAX_TEXT = 8000  # characters of a reason or note given to the model


@dataclass(frozen=True)
class Answer:
    """What one hook decided; `problem` is set when it failed and was ignored."""

    block: str | None = None
    updated_input: dict | None = None
    context: str | None = None
    problem: str | None = None


def run_hook(command: str, timeout: float, payload: dict, cwd: Path, env: dict[str, str]) -> Answer:
    """Run `command` with `payload` on stdin; never raises for anything the hook does."""
    try:
        proc = subprocess.Popen(command, shell=True, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        return Answer(problem=f"could not start: {exc.strerror}")
    try:
        out, err = proc.communicate(json.dumps(payload, ensure_ascii=False).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return Answer(problem=f"timed out after {timeout:g}s (killed)")
    finally:
        _kill(proc)  # what the hook left running in its group goes with it
    stdout, stderr = _text(out), _text(err)
    if proc.returncode == 2:
        return Answer(block=stderr or f"blocked by the hook `{command}` (exit code 2)")
    if proc.returncode != 0:
        return Answer(problem=f"exit code {proc.returncode}" + (f": {stderr[-500:]}" if stderr else ""))
    if not stdout.startswith("{"):
        return Answer()  # plain output only informs (recorded, not shown to the model)
    try:
        answer = json.loads(stdout)
    except ValueError as exc:
        return Answer(problem=f"its stdout starts like JSON but is not: {exc}")
    return _decided(answer, command) if isinstance(answer, dict) else Answer()


def _decided(answer: dict, command: str) -> Answer:
    """Claude Code's JSON output: `decision`/`reason`, and `hookSpecificOutput` with permissionDecision
    (allow, deny, ask), permissionDecisionReason, updatedInput, additionalContext."""
    specific = answer.get("hookSpecificOutput") if isinstance(answer.get("hookSpecificOutput"), dict) else {}
    permission = specific.get("permissionDecision")
    reason = str(specific.get("permissionDecisionReason") or answer.get("reason") or "").strip()
    block = None
    if answer.get("decision") == "block" or permission == "deny":
        block = reason or f"blocked by the hook `{command}`"
    elif permission == "ask":  # no person to ask in a glm-agent run: not allowed
        block = "the hook asks for a person's approval, and this run has none" + (f": {reason}" if reason else "")
    updated = specific.get("updatedInput")
    context = specific.get("additionalContext")
    return Answer(block=_cap(block) if block else None, updated_input=updated if isinstance(updated, dict) else None,
                  context=_cap(str(context)) if context else None)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.returncode is None:
        proc.wait()


def _text(data: bytes | None) -> str:
    return _cap((data or b"").decode("utf-8", "replace").strip())


def _cap(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + f"... ({len(text) - _MAX_TEXT} more characters)"
