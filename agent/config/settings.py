"""The run configuration as typed, frozen sections: every key, its default and its bounds (the reference docs are
generated from these)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Optional

from glm_agent.config.sections import Section
from glm_agent.core.stops import UserError
from glm_agent.tools.base import ToolSettings


class ConfigError(UserError):
    """A configuration the user must fix; the CLI prints it and exits with code 2."""


def _http_url(value: str) -> Optional[str]:
    """What is wrong with a base URL, or None."""
    if not re.match(r"https?://[^/\s]+", value):
        return "must start with http:// or https:// and a host, e.g. http://localhost:8000/v1"
    return None


@dataclass(frozen=True)
class ModelSettings(Section):
    """How to reach GLM; the key is never here (ZAI_API_KEY from the environment)."""

    name: str = "glm-4.6"
    base_url: Optional[str] = field(default=None, metadata={"check": _http_url})
    endpoint: Literal["general", "coding", "mainland", "mainland-coding"] = "general"
    dialect: Literal["zai", "openai"] = "zai"
    thinking: Optional[bool] = None
    stream: bool = True
    tool_stream: bool = True
    temperature: Optional[float] = field(default=None, metadata={"ge": 0, "le": 1})
    top_p: Optional[float] = field(default=None, metadata={"gt": 0, "le": 1})
    max_tokens: int = field(default=16384, metadata={"gt": 0})
    timeout: float = field(default=300.0, metadata={"gt": 0})
    connect_timeout: float = field(default=8.0, metadata={"gt": 0})
    max_retries: int = field(default=3, metadata={"ge": 0})
    # retry wait (base, cap) in seconds: doubling from base, capped, with jitter
    backoff: tuple[float, float] = field(default=(1.0, 30.0), metadata={"ge": 0})
    # USD per million tokens by model: {input, cached_input, output}; overrides the list prices
    prices: Optional[dict[str, dict[str, float]]] = None


@dataclass(frozen=True)
class Limits(Section):
    """Hard budgets of one run; at `warn_at` of any of them the model gets one wrap-up warning."""

    max_steps: int = field(default=100, metadata={"gt": 0})
    max_cost_usd: Optional[float] = field(default=None, metadata={"gt": 0})
    max_total_tokens: Optional[int] = field(default=None, metadata={"gt": 0})
    timeout: Optional[float] = field(default=None, metadata={"gt": 0})  # wall-clock seconds
    warn_at: float = field(default=0.9, metadata={"gt": 0, "le": 1})
    stuck_repeats: int = field(default=3, metadata={"ge": 2})
    max_format_errors: int = field(default=3, metadata={"ge": 1})


@dataclass(frozen=True)
class ContextSettings(Section):
    """When and how old tool results are shortened so the prompt stays inside GLM's window."""

    window: int = field(default=200_000, metadata={"gt": 0})
    shorten_at: float = field(default=0.8, metadata={"gt": 0, "le": 1})
    exhausted_at: float = field(default=0.95, metadata={"gt": 0, "le": 1})
    keep_recent_steps: int = field(default=3, metadata={"ge": 0})
    keep_chars: int = field(default=1500, metadata={"ge": 0})
    agents_md_max_bytes: int = field(default=32 * 1024, metadata={"ge": 0})


@dataclass(frozen=True)
class GitSettings(Section):
    """The work branch and the final commit."""

    branch: bool = True
    commit: bool = True
    commit_on_stop: bool = False


@dataclass(frozen=True)
class ToolOptions(Section, ToolSettings):
    """The tools' own settings (tools.ToolSettings), validated against their field bounds like every section."""


@dataclass(frozen=True)
class Config(Section):
    """Everything a run needs besides the task and the secrets."""

    model: ModelSettings = field(default_factory=ModelSettings)
    limits: Limits = field(default_factory=Limits)
    context: ContextSettings = field(default_factory=ContextSettings)
    git: GitSettings = field(default_factory=GitSettings)
    tools: ToolOptions = field(default_factory=ToolOptions)
