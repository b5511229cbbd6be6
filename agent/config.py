"""Typed run configuration, merged once at the edge: defaults < user file < repo file < -c key=value < flags."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, ValidationError, field_validator

from tools.base import ToolSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

SECRET_KEYS = ("api_key", "apikey", "key", "token", "password", "secret")


class ConfigError(Exception):
    """A configuration the user must fix; the CLI prints it and exits with code 2."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSettings(_Section):
    """How to reach GLM; the key is never here (ZAI_API_KEY from the environment)."""

    name: str = "glm-4.6"
    base_url: Optional[str] = None
    endpoint: Literal["general", "coding", "mainland", "mainland-coding"] = "general"
    dialect: Literal["zai", "openai"] = "zai"
    thinking: Optional[bool] = None
    stream: bool = True
    tool_stream: bool = True
    temperature: Optional[float] = Field(None, ge=0.0, le=1.0)
    top_p: Optional[float] = Field(None, gt=0.0, le=1.0)
    max_tokens: int = Field(16384, gt=0)
    timeout: float = Field(300.0, gt=0)
    connect_timeout: float = Field(8.0, gt=0)
    max_retries: int = Field(3, ge=0)
    backoff: tuple[NonNegativeFloat, NonNegativeFloat] = Field(
        (1.0, 30.0), description="retry wait (base, cap) in seconds: doubling from base, capped, with jitter")
    prices: Optional[dict[str, dict[str, float]]] = Field(
        None, description="USD per million tokens by model: {input, cached_input, output}; overrides the list prices")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"must start with http:// or https:// and a host, e.g. http://localhost:8000/v1 "
                             f"(got {value!r})")
        return value


class Limits(_Section):
    """Hard budgets of one run; at `warn_at` of any of them the model gets one wrap-up warning."""

    max_steps: int = Field(100, gt=0)
    max_cost_usd: Optional[float] = Field(None, gt=0)
    max_total_tokens: Optional[int] = Field(None, gt=0)
    timeout: Optional[float] = Field(None, gt=0, description="wall-clock seconds")
    warn_at: float = Field(0.9, gt=0, le=1)
    stuck_repeats: int = Field(3, ge=2)
    max_format_errors: int = Field(3, ge=1)


class ContextSettings(_Section):
    """When and how old tool results are shortened so the prompt stays inside GLM's window."""

    window: int = Field(200_000, gt=0)
    shorten_at: float = Field(0.8, gt=0, le=1)
    exhausted_at: float = Field(0.95, gt=0, le=1)
    keep_recent_steps: int = Field(3, ge=0)
    keep_chars: int = Field(1500, ge=0)
    agents_md_max_bytes: int = Field(32 * 1024, ge=0)


class GitSettings(_Section):
    """The work branch and the final commit."""

    branch: bool = True
    commit: bool = True
    commit_on_stop: bool = False


class ToolOptions(ToolSettings):
    """The tools' own settings (tools.ToolSettings), with unknown keys refused like every other section."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Config(_Section):
    """Everything a run needs besides the task and the secrets."""

    model: ModelSettings = Field(default_factory=ModelSettings)
    limits: Limits = Field(default_factory=Limits)
    context: ContextSettings = Field(default_factory=ContextSettings)
    git: GitSettings = Field(default_factory=GitSettings)
    tools: ToolOptions = Field(default_factory=ToolOptions)


def user_config_path() -> Path:
    """~/.config/glm-agent/config.toml, honouring XDG_CONFIG_HOME."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "glm-agent" / "config.toml"


def load_config(repo: Path | None = None, overrides: list[str] = (), config_file: Path | None = None,
                flags: dict[str, Any] | None = None) -> Config:
    """Merge every layer and validate it; any problem raises ConfigError naming its source."""
    user = (str(user_config_path()), _read_toml(user_config_path(), missing_ok=True))
    repo_layer = _repo_layer(Path(repo)) if repo is not None else ("repo", {})
    trusted = [user]
    if config_file is not None:
        trusted.append((str(config_file), _read_toml(Path(config_file), missing_ok=False)))
    trusted.append(("-c", _dotted({key: value for key, value in map(_parse_override, overrides)}, "-c")))
    trusted.append(("command-line flags", _dotted({k: v for k, v in (flags or {}).items() if v is not None}, "flag")))
    merged: dict = {}
    for source, data in [user, repo_layer, *trusted[1:]]:
        _reject_secrets(data, source)
        _validate(data, source)
        _deep_merge(merged, data)
    config = _validate(merged, "merged configuration")
    _refuse_untrusted_base_url(repo_layer, trusted, config)
    return config


def _refuse_untrusted_base_url(repo_layer: tuple[str, dict], trusted: list[tuple[str, dict]], config: Config) -> None:
    """A cloned repository (or an earlier run's model) must not choose the server that receives the user's key:
    a base URL from the repository's file is used only when the user also gave it (user file, --config, -c, flag)."""
    source, data = repo_layer
    url = data.get("model", {}).get("base_url")
    if url is None or config.model.base_url != url:
        return
    if any(layer.get("model", {}).get("base_url") == url for _, layer in trusted):
        return
    raise ConfigError(f"{source}: model.base_url = {url!r} comes from the repository, and a repository may not "
                      f"choose where your API key is sent. To trust it, pass --base-url {url} or set "
                      f"model.base_url in {user_config_path()}")


def _repo_layer(repo: Path) -> tuple[str, dict]:
    own = repo / ".glm-agent.toml"
    if own.is_file():
        return str(own), _read_toml(own, missing_ok=False)
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        return f"{pyproject} [tool.glm-agent]", _read_toml(pyproject, missing_ok=False).get("tool", {}).get("glm-agent", {})
    return "repo", {}


def _read_toml(path: Path, *, missing_ok: bool) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _parse_override(item: str) -> tuple[str, Any]:
    """`key=value` with a TOML value (numbers, booleans, quoted strings, arrays); bare words stay strings."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"-c expects key=value, got {item!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip(), value


def _dotted(flat: dict[str, Any], source: str) -> dict:
    nested: dict = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{source}: {key!r} conflicts with another key")
        node[leaf] = value
    return nested


def _reject_secrets(data: dict, source: str, prefix: str = "") -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            _reject_secrets(value, source, f"{prefix}{key}.")
        elif key.lower() in SECRET_KEYS:
            raise ConfigError(f"{source}: '{prefix}{key}' is not allowed in configuration; "
                              "secrets come from the environment only (set ZAI_API_KEY)")


def _validate(data: dict, source: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{source}: invalid configuration: {problems}") from None


def _deep_merge(into: dict, data: dict) -> None:
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
