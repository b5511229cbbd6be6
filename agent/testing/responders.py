"""Stand-in responders for long runs: compaction's summary request gets a summary, every other request goes on
to the test's own responder or script (so a run that compacts plays end to end over loopback)."""
from __future__ import annotations

import json
from typing import Callable, Iterable, Union

from glm_agent.core.compaction import is_summary_request
from glm_agent.testing.script import Item, Reply, item_from_dict

Responder = Callable[[dict], Item]


def summarizing(inner: Union[Responder, Iterable[Item]], summary: Union[str, Callable[[dict], str], None] = None
                ) -> Responder:
    """A responder for `StandIn(responder=...)`. A summary request (recognised by compaction's marker) is
    answered with `summary`: a text, a function of the request body, or by default `outline(body)`. Every other
    request goes to `inner`, a responder or a list of script items served in order. `.summaries` counts them."""
    script = None if callable(inner) else [item_from_dict(i) if isinstance(i, dict) else i for i in inner]

    def respond(body: dict) -> Item:
        if is_summary_request(body.get("messages") or []):
            respond.summaries += 1
            text = summary(body) if callable(summary) else summary if summary is not None else outline(body)
            return Reply(content=text)
        if script is None:
            return inner(body)  # type: ignore[operator]
        if not script:
            raise LookupError("script exhausted (summary requests aside)")
        return script.pop(0)

    respond.summaries = 0  # type: ignore[attr-defined]
    return respond


def outline(body: dict) -> str:
    """A summary in the template's headings, made from the tool calls in the request (what GLM would cover)."""
    messages = body.get("messages") or []
    calls = [c["function"] for m in messages if m.get("role") == "assistant" for c in m.get("tool_calls") or []]
    files, commands = [], []
    for call in calls:
        try:
            args = json.loads(call.get("arguments") or "{}")
        except ValueError:
            args = {}
        if call.get("name") in ("write_file", "edit_file") and args.get("path") not in files:
            files.append(args.get("path"))
        if call.get("name") == "bash":
            commands.append(str(args.get("command", "")))
    task = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
    return "\n".join([
        f"Goal: {task.splitlines()[0] if task else '(unknown)'}",
        f"Done: {len(calls)} tool calls in this part of the conversation"
        + (f"; the last command was `{commands[-1]}`" if commands else "") + ".",
        "Learned: the commands print about the same output each time.",
        "Left: continue with the next steps of the task, then finish.",
        f"Files touched: {', '.join(map(str, files)) or 'none'}.",
    ])
