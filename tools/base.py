"""Types shared by every tool: the result a call returns, the settings, and the model-fixable error."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from glm_agent.tools.identity import DEFAULT_GIT_USER_EMAIL, DEFAULT_GIT_USER_NAME
from glm_agent.tools.secretenv import SECRET_ENV

SCHEMA_FILE = Path(__file__).with_name("schemas.json")  # the default tools' wire schemas: `python -m glm_agent.tools.schemas`



@dataclass(frozen=True)
class ToolResult:
    """What a tool call returns to the loop; `finish_summary` is set only when finish was accepted, `malformed`
    when the call could not even be read (unknown tool, unparsable arguments): the loop counts those as format
    errors rather than as a repeated action; `event`, a trajectory event the loop records beside the result
    (a refused finish, a new plan)."""

    text: str
    is_error: bool = False
    finish_summary: str | None = None
    malformed: bool = False
    event: dict | None = None


@dataclass(frozen=True)
class ToolSettings:
    """Knobs of the toolset, validated once by the config layer (glm_agent.config.settings.ToolOptions checks the bounds in
    the field metadata) and passed in."""

    bash_timeout_default: int = field(default=120, metadata={
        "gt": 0, "doc": "seconds a command may run when the model gives no timeout"})
    bash_timeout_max: int = field(default=600, metadata={"gt": 0, "doc": "the most seconds a command may run"})
    output_limit: int = field(default=30000, metadata={
        "gt": 0, "doc": "characters of command output shown to the model (start and end kept)"})
    git_user_name: str = field(default=DEFAULT_GIT_USER_NAME, metadata={
        "doc": "name of every glm-agent commit in a repository without an identity of its own (name and email)"})
    git_user_email: str = field(default=DEFAULT_GIT_USER_EMAIL, metadata={"doc": "email of those commits"})
    protected: list[str] = field(default_factory=list, metadata={"doc": "globs the write tools refuse to change"})
    extra_env_remove: list[str] = field(default_factory=list, metadata={
        "doc": "more variables to keep from the commands' environment, besides the always-removed "
               + ", ".join(f"`{name}`" for name in SECRET_ENV)})

    @property
    def hidden_env(self) -> frozenset[str]:
        """Variables kept from commands: the built-in key names always, plus the configured extra ones (a
        repository's config can add names, never bring the key back)."""
        return frozenset(SECRET_ENV).union(self.extra_env_remove)


class ToolError(Exception):
    """A failure the model can fix: reported back to it as an error result, never raised to the loop."""


class EndRun(Exception):
    """Raised by a tool or finish gate to stop the run with its own stop reason; dispatch lets it through."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason
