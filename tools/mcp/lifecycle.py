"""Starting the configured MCP servers before the run, offering their tools, routing calls, stopping them after.

Stdio servers carry the toolset's process marker in their environment, so closing kills their whole process
tree (children that left the group included), like the bash tool's leftovers.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from glm_agent.tools.base import ToolResult
from glm_agent.tools.mcp.client import CallFailed, Connection, LoopThread
from glm_agent.tools.mcp.naming import wire_name, wire_schema
from glm_agent.tools.shell.procs import MARKER, kill_marked, new_marker
from glm_agent.tools.toolset import Tool


class McpStartError(Exception):
    """A configured server that could not be started or listed: the user must fix the config or the server."""


class McpServers:
    """The run's MCP servers, connected; `tools` are theirs as mcp__SERVER__TOOL; `close` stops them all."""

    def __init__(self, servers: dict[str, Any], root: Path, taken: set[str] = frozenset(), output_limit: int = 30000):
        """`servers`: name -> glm_agent.config McpServer; `taken`: tool names already used (custom tools);
        `output_limit`: characters of a result shown to the model (start and end kept), as for commands."""
        try:
            import mcp  # noqa: F401  (an optional extra, needed only now)
        except ImportError:
            raise McpStartError("MCP servers are configured, and the MCP SDK is not installed: "
                                "pip install 'glm-agent[mcp]'") from None
        self._specs, self._marker, self._limit = servers, new_marker(), output_limit
        self._thread, self._connections, self._logs = LoopThread(), {}, {}
        self.tools: list[Tool] = []
        try:
            self._start(root, set(taken))
        except BaseException:
            self.close()
            raise

    def _start(self, root: Path, taken: set[str]) -> None:
        for name, spec in self._specs.items():
            self._connections[name] = Connection(name, self._target(name, spec, root))
        listed = self._thread.run(self._open_all(), max(spec.start_timeout for spec in self._specs.values()) + 5)
        for name, tools in listed.items():
            for tool in tools:
                wire = wire_name(name, tool.name, taken)
                taken.add(wire)
                schema = wire_schema(wire, tool.description or tool.title, tool.input_schema)
                self.tools.append(Tool(wire, None, _Route(self, name, tool.name), schema=schema))

    async def _open_all(self) -> dict[str, list]:
        async def one(name: str) -> list:
            try:
                return await asyncio.wait_for(self._connections[name].open(), self._specs[name].start_timeout)
            except asyncio.TimeoutError:
                raise McpStartError(f"MCP server {name!r} did not start within {self._specs[name].start_timeout:g}s"
                                    f"{self._stderr(name)}") from None
            except Exception as exc:
                raise McpStartError(f"MCP server {name!r} did not start: {exc}{self._stderr(name)}") from None

        names = list(self._specs)
        return dict(zip(names, await asyncio.gather(*(one(name) for name in names))))

    def _target(self, name: str, spec: Any, root: Path) -> Any:
        if spec.url is not None:
            return spec.url
        from mcp.client.stdio import StdioServerParameters, stdio_client

        log = self._logs[name] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        params = StdioServerParameters(command=spec.command, args=list(spec.args), cwd=str(root),
                                       env={**{k: _expand(v) for k, v in spec.env.items()}, MARKER: self._marker})
        return stdio_client(params, errlog=log)

    def call(self, server: str, tool: str, arguments: dict) -> ToolResult:
        """One call; an error, a crash or a hang is an error result and the run goes on."""
        timeout = self._specs[server].timeout
        try:
            result = self._thread.run(self._connections[server].call(tool, arguments, timeout), timeout + 5)
        except TimeoutError:
            return ToolResult(f"Error: the MCP server {server!r} gave no answer to {tool} within {timeout:g}s; the "
                              f"call was cancelled (the server may still be busy with it).", is_error=True)
        except CallFailed as exc:
            return ToolResult(f"Error: the MCP server {server!r} failed on {tool}: {exc}{self._stderr(server)}",
                              is_error=True)
        text = _clipped(_result_text(result), self._limit)
        return ToolResult(f"Error from the MCP server {server!r}: {text}" if result.is_error else text,
                          is_error=bool(result.is_error))

    def _stderr(self, name: str, lines: int = 5) -> str:
        log = self._logs.get(name)
        if log is None:
            return ""
        log.flush()
        log.seek(0)
        tail = log.read().strip().splitlines()[-lines:]
        return ("\nIts last stderr lines:\n" + "\n".join(tail)) if tail else ""

    def close(self) -> None:
        """Close every connection, stop the loop, then kill whatever the stdio servers left running."""
        async def close_all() -> None:
            await asyncio.gather(*(connection.close() for connection in self._connections.values()))

        try:
            self._thread.run(close_all(), 20)
        except Exception:  # noqa: BLE001 - the kill below is what must happen
            pass
        self._thread.stop()
        kill_marked(self._marker)
        for log in self._logs.values():
            log.close()


def _expand(value: str) -> str:
    """`${NAME}` replaced by glm-agent's own environment variable (empty when unset): secrets stay out of files."""
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: os.environ.get(m.group(1), ""), value)


class _Route:
    """The run of one MCP tool: the parsed arguments sent to its server under its own name."""

    def __init__(self, servers: McpServers, server: str, tool: str):
        self.servers, self.server, self.tool = servers, server, tool

    def __call__(self, arguments: dict) -> ToolResult:
        return self.servers.call(self.server, self.tool, arguments)


def _result_text(result: Any) -> str:
    """Text blocks as they are, other blocks named; the structured result as JSON when the text lacks it."""
    parts = []
    for block in result.content:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(block.resource.text)
        elif kind == "resource_link":
            parts.append(f"[resource: {block.uri}]")
        else:
            parts.append(f"[{kind or 'content'} block: {getattr(block, 'mime_type', None) or 'not text'}]")
    text = "\n".join(parts)
    structured = getattr(result, "structured_content", None)
    if structured is not None and not _same(text, structured):
        dumped = json.dumps(structured, ensure_ascii=False)
        text = f"{text}\nstructured result: {dumped}" if text else dumped
    return text or "(no content)"


def _clipped(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit:,} characters of the result omitted ...]\n{text[-half:]}"


def _same(text: str, structured: Any) -> bool:
    """Whether the text already is the structured result (servers send both; some wrap a value as {"result": v})."""
    if structured == {"result": text}:
        return True
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return value == structured or structured == {"result": value}
