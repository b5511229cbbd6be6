"""glm-agent: a GLM-4.6-native coding agent. Public names are imported lazily to keep start-up fast."""
from __future__ import annotations

import importlib

_EXPORTS = {
    "GLMClient": "agent.client",
    "AssistantTurn": "agent.turn",
    "ToolCall": "agent.turn",
    "Usage": "agent.turn",
    "Delta": "agent.turn",
    "StandIn": "agent.standin",
    "Reply": "agent.standin",
    "Fault": "agent.standin",
    "Agent": "agent.loop",
    "RunResult": "agent.loop",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
