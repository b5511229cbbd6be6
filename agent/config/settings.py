"""The run configuration as typed, frozen sections: every key, its default, its bounds and (metadata "doc") its
one-line description; the key reference in docs/configuration.md is generated from these by
`python -m glm_agent.config.reference`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Optional

from glm_agent.config.plugins import HooksSettings, McpSettings, PromptSettings
from glm_agent.config.sections import Section, SectionError
from glm_agent.core.stops import UserError
from glm_agent.tools.base import ToolSettings
from glm_agent.tools.shell.sandbox import SandboxSettings


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

    name: str = field(default="glm-4.6", metadata={"doc": "model name sent with every request"})
    base_url: Optional[str] = field(default=None, metadata={
        "check": _http_url, "doc": "API base URL (`http://` or `https://`); none = the Z.ai URL of `model.endpoint`"})
    endpoint: Literal["general", "coding", "mainland", "mainland-coding"] = field(default="general", metadata={
        "doc": "Z.ai API if `model.base_url` is none: general or GLM Coding Plan, at z.ai or bigmodel.cn (mainland)"})
    dialect: Literal["zai", "openai"] = field(default="zai", metadata={
        "doc": "`zai`, or `openai` for vLLM/SGLang and other OpenAI-compatible servers"})
    thinking: Optional[bool] = field(default=None, metadata={
        "doc": "`true`/`false` to force GLM thinking on/off; none = the provider's default"})
    stream: bool = field(default=True, metadata={"doc": "stream responses (SSE)"})
    tool_stream: bool = field(default=True, metadata={"doc": "stream tool-call arguments too (Z.ai dialect)"})
    temperature: Optional[float] = field(default=None, metadata={
        "ge": 0, "le": 1, "doc": "sampling temperature; none = the provider's default"})
    top_p: Optional[float] = field(default=None, metadata={
        "gt": 0, "le": 1, "doc": "nucleus sampling share; none = the provider's default"})
    max_tokens: int = field(default=16384, metadata={
        "gt": 0, "doc": "output tokens per response, reasoning included"})
    timeout: float = field(default=300.0, metadata={"gt": 0, "doc": "seconds per request"})
    connect_timeout: float = field(default=8.0, metadata={"gt": 0, "doc": "seconds to connect"})
    max_retries: int = field(default=3, metadata={
        "ge": 0, "doc": "retries of transient errors (rate limit, overload, 5xx, dropped stream)"})
    backoff: tuple[float, float] = field(default=(1.0, 30.0), metadata={
        "ge": 0, "doc": "retry wait in seconds `[base, cap]`: doubling from base, capped, with jitter; a server's "
                        "`Retry-After` (429, 503) replaces it, also at most the cap; no retry waits past limits.timeout"})
    prices: Optional[dict[str, dict[str, float]]] = field(default=None, metadata={
        "doc": "USD per million tokens by model name, e.g. `{\"glm-4.6\" = {input = 0.6, cached_input = 0.11, "
               "output = 2.2}}`; overrides the built-in list prices"})


@dataclass(frozen=True)
class Limits(Section):
    """Hard budgets of one run; at `warn_at` of any of them the model gets one wrap-up warning."""

    max_steps: int = field(default=100, metadata={"gt": 0, "doc": "model calls per run"})
    max_cost_usd: Optional[float] = field(default=None, metadata={"gt": 0, "doc": "cost budget in USD"})
    max_total_tokens: Optional[int] = field(default=None, metadata={
        "gt": 0, "doc": "token budget (prompt + completion, summed over the run)"})
    timeout: Optional[float] = field(default=None, metadata={"gt": 0, "doc": "wall-clock seconds for the run"})
    warn_at: float = field(default=0.9, metadata={
        "gt": 0, "le": 1, "doc": "share of a budget at which the model gets its one wrap-up warning"})
    stuck_repeats: int = field(default=3, metadata={
        "ge": 2, "doc": "identical call + result in a row that count as stuck (stops the run)"})
    max_format_errors: int = field(default=3, metadata={
        "ge": 1, "doc": "malformed turns (unparsable tool calls) in a row before the run stops"})
    evidence_before_finish: bool = field(default=True, metadata={
        "doc": "refuse once a `finish` from a run that has changed no file and run no command (`fix` turns it off: "
               "its check is the evidence)"})


@dataclass(frozen=True)
class ContextSettings(Section):
    """How the conversation is compacted to stay inside GLM's window (glm_agent.core.compaction)."""

    window: int = field(default=200_000, metadata={"gt": 0, "doc": "the model's context window in tokens"})
    shorten_at: float = field(default=0.7, metadata={
        "gt": 0, "le": 1, "doc": "share of the window (the last prompt + unsent messages, estimated) at which old "
                                 "reasoning is dropped and old tool results are shortened to their head and tail"})
    shorten_min_share: float = field(default=0.02, metadata={
        "ge": 0, "le": 1, "doc": "share of the window a shortening pass must free, or it rewrites nothing (a "
                                 "rewrite costs the prefix cache from the first rewritten message on)"})
    summarize_at: float = field(default=0.8, metadata={
        "gt": 0, "le": 1, "doc": "share of the window that shortening must bring the prompt under; when it cannot, "
                                 "GLM summarizes the work and the conversation is rebuilt from the summary"})
    exhausted_at: float = field(default=0.95, metadata={
        "gt": 0, "le": 1, "doc": "when compaction cannot bring a prompt under `context.summarize_at` (no step to "
                                 "compact yet, a task message that large, `context.max_compactions` reached), a "
                                 "prompt under this share is sent anyway; one over it stops the run with "
                                 "`context_exhausted`"})
    max_compactions: int = field(default=3, metadata={
        "ge": 1, "doc": "summaries in a row without a model answer in between; one more needed stops the run "
                        "with `context_exhausted`"})
    keep_recent_steps: int = field(default=3, metadata={
        "ge": 0, "doc": "the tool results and reasoning of the last N steps are never shortened"})
    keep_recent_tokens: int = field(default=20_000, metadata={
        "ge": 0, "doc": "after a summary, the most recent whole steps that fit in this many tokens (estimated; at "
                        "most half the room left under `context.shorten_at`) are kept verbatim"})
    keep_chars: int = field(default=1500, metadata={
        "ge": 0, "doc": "characters kept of a shortened tool result: its head and its tail, half each"})
    failure_chars: int = field(default=4000, metadata={
        "ge": 0, "doc": "characters of the last failing command's output (its tail) carried into a rebuilt "
                        "conversation"})
    agents_md_max_bytes: int = field(default=32 * 1024, metadata={
        "ge": 0, "doc": "cap on the AGENTS.md text given to the model, all files together"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.shorten_at <= self.summarize_at <= self.exhausted_at:
            raise SectionError([f"context.shorten_at ({self.shorten_at:g}) <= context.summarize_at "
                                f"({self.summarize_at:g}) <= context.exhausted_at ({self.exhausted_at:g}) must hold"])


@dataclass(frozen=True)
class GitSettings(Section):
    """The work branch and the final commit."""

    branch: bool = field(default=True, metadata={"doc": "work on a new branch `glm-agent/<task-slug>`"})
    commit: bool = field(default=True, metadata={"doc": "commit the agent's changes when it finishes"})
    commit_on_stop: bool = field(default=False, metadata={"doc": "also commit when the run stops without finishing"})


@dataclass(frozen=True)
class ToolOptions(Section, ToolSettings):
    """The tools' own settings (tools.ToolSettings), validated against their field bounds like every section."""


@dataclass(frozen=True)
class SandboxOptions(Section, SandboxSettings):
    """The commands' sandbox (tools.shell.sandbox.SandboxSettings), validated like every section."""


@dataclass(frozen=True)
class Config(Section):
    """Everything a run needs besides the task and the secrets."""

    model: ModelSettings = field(default_factory=ModelSettings, metadata={
        "doc": "How to reach GLM: the model, the server, streaming, sampling, timeouts and retries. The key is "
               "never here: it comes from `ZAI_API_KEY`."})
    limits: Limits = field(default_factory=Limits, metadata={
        "doc": "Hard budgets of one run: the first one used up stops it with `limit_reached`."})
    context: ContextSettings = field(default_factory=ContextSettings, metadata={
        "doc": "How the conversation is compacted to stay inside the model's window: old results shortened "
               "first, then a summary written by GLM."})
    git: GitSettings = field(default_factory=GitSettings, metadata={"doc": "The work branch and the final commit."})
    tools: ToolOptions = field(default_factory=ToolOptions, metadata={
        "doc": "The tools: command timeouts, output size, commit identity, protected files, hidden variables."})
    sandbox: SandboxOptions = field(default_factory=SandboxOptions, metadata={
        "doc": "Where the model's commands run: bubblewrap (read-only system, .git read-only, no network, "
               "credentials hidden) or unsandboxed; see [safety.md](safety.md)."})
    mcp: McpSettings = field(default_factory=McpSettings, metadata={
        "doc": "MCP servers whose tools the model may call (docs/mcp.md). Not from a repository's own config."})
    hooks: HooksSettings = field(default_factory=HooksSettings, metadata={
        "doc": "Commands run before and after tool calls, at finish and before compaction (docs/hooks.md). Not "
               "from a repository's own config."})
    prompts: PromptSettings = field(default_factory=PromptSettings, metadata={
        "doc": "Templates that replace the built-in prompts (docs/custom-tools.md)."})
