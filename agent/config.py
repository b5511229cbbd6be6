"""Typed run configuration, merged once at the edge: defaults < user file < repo file < -c key=value < flags."""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from agent.sections import Section, SectionError
from tools.base import ToolSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

SECRET_KEYS = ("api_key", "apikey", "key", "token", "password", "secret")


class ConfigError(Exception):
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
    # retry wait (base, cap) in seconds: doubling from base, capped, with jitter; a Retry-After is capped too
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
        return Config.from_dict(data)
    except SectionError as problems:
        raise ConfigError(f"{source}: invalid configuration: {problems}") from None


def _deep_merge(into: dict, data: dict) -> None:
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
