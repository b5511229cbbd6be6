"""What plugs into a job's run, set up before its first request and torn down with it: the custom tools, the MCP
servers (started only when configured), the hooks around dispatch, and the folder of prompt overrides."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from glm_agent.config.settings import Config, ConfigError
from glm_agent.jobs.records import RUNS_DIR


def with_prompts(config: Config, folder: str | Path | None, root: Path) -> Config:
    """The config with its prompt folder (the job's, else the config's) made absolute from the repository root and
    checked, so a typo in a template's name is an error rather than a silently ignored override."""
    from glm_agent.prompts import folder_problem

    folder = folder or config.prompts.folder
    if not folder:
        return config
    path = (root / Path(folder).expanduser()).resolve()
    problem = folder_problem(path)
    if problem:
        raise ConfigError(problem)
    return replace(config, prompts=replace(config.prompts, folder=str(path)))


@contextmanager
def plugged_toolset(build: Callable[..., Any], config: Config, tools: list, root: Path, run_id: str,
                    on_event: Callable[[dict], None]) -> Iterator[Any]:
    """The run's toolset: `build(extra=...)` (build_toolset with the run's settings) given the custom and MCP tools,
    wrapped in the hooks when any are configured; the MCP servers and the toolset are closed on the way out."""
    from glm_agent.tools.toolset import ToolsetError

    servers = _start_servers(config, tools, root, on_event) if config.mcp.servers else None
    try:
        try:
            toolset = build(extra=[*tools, *(servers.tools if servers else [])])
        except ToolsetError as exc:
            raise ConfigError(str(exc)) from None
        try:
            yield _hooked(toolset, config, root, run_id, on_event)
        finally:
            toolset.close()  # background processes the run's commands left behind, now (not when collected)
    finally:
        if servers is not None:
            servers.close()


def _start_servers(config: Config, tools: list, root: Path, on_event: Callable[[dict], None]) -> Any:
    from glm_agent.tools.mcp.lifecycle import McpServers, McpStartError

    started = time.monotonic()
    try:
        servers = McpServers(config.mcp.servers, root, taken={tool.name for tool in tools},
                             output_limit=config.tools.output_limit)
    except McpStartError as exc:
        raise ConfigError(str(exc)) from None
    on_event({"type": "mcp_started", "servers": list(config.mcp.servers), "tools": [t.name for t in servers.tools],
              "seconds": round(time.monotonic() - started, 3)})
    return servers


def _hooked(toolset: Any, config: Config, root: Path, run_id: str, on_event: Callable[[dict], None]) -> Any:
    from glm_agent.tools.hooks import HookedToolset, Hooks

    env = {key: value for key, value in os.environ.items() if key not in config.tools.hidden_env}
    hooks = Hooks(config.hooks, root, run_id, env, on_event=on_event,
                  transcript=root / RUNS_DIR / run_id / "trajectory.jsonl")
    return HookedToolset(toolset, hooks) if hooks else toolset
