"""The config sections of what plugs into a run: MCP servers, hook commands and a folder of prompt templates.

MCP servers and hooks are commands: a repository's own config may not add them (glm_agent.config.loading).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from glm_agent.config.sections import Section, SectionError


@dataclass(frozen=True)
class McpServer(Section):
    """One MCP server: a command started over stdio, or the URL of a streamable HTTP server."""

    command: Optional[str] = field(default=None, metadata={"doc": "program to start (stdio transport)"})
    args: list[str] = field(default_factory=list, metadata={"doc": "its arguments"})
    env: dict[str, str] = field(default_factory=dict, metadata={"doc": "variables added to its environment"})
    url: Optional[str] = field(default=None, metadata={"doc": "streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp"})
    timeout: float = field(default=60.0, metadata={"gt": 0, "doc": "seconds one tool call may take"})
    start_timeout: float = field(default=30.0, metadata={"gt": 0, "doc": "seconds to start and list the tools"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.command is None) == (self.url is None):
            raise SectionError(["an MCP server needs exactly one of `command` (stdio) or `url` (streamable HTTP)"])
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise SectionError([f"url: must start with http:// or https:// (got {self.url!r})"])


@dataclass(frozen=True)
class McpSettings(Section):
    """MCP servers whose tools are offered to the model as mcp__NAME__TOOL."""

    servers: dict[str, McpServer] = field(default_factory=dict, metadata={
        "doc": "`[mcp.servers.NAME]` tables: `command`, `args`, `env` (stdio) or `url` (streamable HTTP), "
               "`timeout` (per call, 60 s), `start_timeout` (30 s); see docs/mcp.md"})


def _regex(value: str) -> Optional[str]:
    if value in ("", "*"):
        return None
    try:
        re.compile(value)
    except re.error as exc:
        return f"not a regular expression: {exc}"
    return None


@dataclass(frozen=True)
class HookCommand(Section):
    """One hook: a shell command given the event as JSON on stdin."""

    command: str = field(default="", metadata={"doc": "shell command, run in the repository root"})
    matcher: str = field(default="", metadata={"check": _regex, "doc": "regular expression on the tool name; empty or * = all"})
    timeout: float = field(default=60.0, metadata={"gt": 0, "doc": "seconds before the hook is killed (ignored)"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.command.strip():
            raise SectionError(["a hook needs a `command`"])


_HOOK_DOC = "`[[hooks.{0}]]` tables: `command`, `matcher` (tool-name regex), `timeout`; see docs/hooks.md"


@dataclass(frozen=True)
class HooksSettings(Section):
    """Commands run at points of the loop; they may block, rewrite or annotate (docs/hooks.md)."""

    pre_tool: list[HookCommand] = field(default_factory=list, metadata={
        "doc": "before a tool call: allow, block with a reason, or rewrite the arguments. " + _HOOK_DOC.format("pre_tool")})
    post_tool: list[HookCommand] = field(default_factory=list, metadata={
        "doc": "after a tool call: may append a note to the result. " + _HOOK_DOC.format("post_tool")})
    stop: list[HookCommand] = field(default_factory=list, metadata={
        "doc": "when finish is accepted: may refuse it with a reason. " + _HOOK_DOC.format("stop")})
    pre_compact: list[HookCommand] = field(default_factory=list, metadata={
        "doc": "before the conversation is compacted: may add instructions. " + _HOOK_DOC.format("pre_compact")})


@dataclass(frozen=True)
class PromptSettings(Section):
    """Where the model-facing templates come from."""

    folder: Optional[str] = field(default=None, metadata={
        "doc": "folder of .j2 templates that replace the built-in ones of the same name (system.j2, task.j2, ...); "
               "relative to the repository root; see docs/custom-tools.md"})
