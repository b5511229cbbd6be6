"""glm-agent: a GLM-4.6-native coding agent. The public API, imported lazily to keep start-up fast:

    from glm_agent import Job, run_job, Config      # a task on a repository, with the CLI's git safety
    from glm_agent import Agent, GLMClient, Model   # the bare loop, any model that answers `complete`
    from glm_agent import tool, build_toolset       # a typed function as a tool (docs/custom-tools.md)
    from glm_agent import FixJob, run_fix           # a failing check made to pass
    from glm_agent import StandIn, Reply, Fault     # the offline GLM stand-in, for tests
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Job": "glm_agent.jobs.run",
    "run_job": "glm_agent.jobs.run",
    "FixJob": "glm_agent.fix.job",
    "run_fix": "glm_agent.fix.job",
    "Config": "glm_agent.config.settings",
    "ConfigError": "glm_agent.config.settings",
    "load_config": "glm_agent.config.loading",
    "Agent": "glm_agent.core.loop",
    "Model": "glm_agent.core.loop",
    "RunResult": "glm_agent.core.result",
    "StopReason": "glm_agent.core.stops",
    "GLMClient": "glm_agent.glm.client",
    "GLMError": "glm_agent.glm.errors",
    "AssistantTurn": "glm_agent.core.turn",
    "ToolCall": "glm_agent.core.turn",
    "Usage": "glm_agent.core.turn",
    "Delta": "glm_agent.core.turn",
    "build_toolset": "glm_agent.tools.builtin",
    "tool": "glm_agent.tools.custom",
    "ToolError": "glm_agent.tools.base",
    "ToolResult": "glm_agent.tools.base",
    "StandIn": "glm_agent.testing",
    "Reply": "glm_agent.testing",
    "Fault": "glm_agent.testing",
    "ScriptedModel": "glm_agent.testing.models",
    "FunctionModel": "glm_agent.testing.models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'glm_agent' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
