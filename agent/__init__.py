"""glm-agent: a GLM-4.6-native coding agent. Public names are imported lazily to keep start-up fast."""
from __future__ import annotations

import importlib

_EXPORTS = {
    "GLMClient": "glm_agent.glm.client",
    "AssistantTurn": "glm_agent.core.turn",
    "ToolCall": "glm_agent.core.turn",
    "Usage": "glm_agent.core.turn",
    "Delta": "glm_agent.core.turn",
    "StandIn": "glm_agent.testing",
    "Reply": "glm_agent.testing",
    "Fault": "glm_agent.testing",
    "Agent": "glm_agent.core.loop",
    "RunResult": "glm_agent.core.loop",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
