"""Loading the configuration once, at the edge: defaults < user file < repo file < --config < -c key=value < flags
(the repo file held to what it may set: glm_agent.config.trust)."""
from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

from glm_agent.config.sections import SectionError
from glm_agent.config.settings import Config, ConfigError
from glm_agent.config.trust import apply_repo_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

SECRET_KEYS = ("api_key", "apikey", "key", "token", "password", "secret")


def user_config_path() -> Path:
    """~/.config/glm-agent/config.toml, honouring XDG_CONFIG_HOME."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "glm-agent" / "config.toml"


def load_config(repo: Path | None = None, overrides: list[str] = (), config_file: Path | None = None,
                flags: dict[str, Any] | None = None, recorded: tuple[str, dict] | None = None, *,
                trust_repo: bool = False) -> Config:
    """Merge every layer and validate it; any problem raises ConfigError naming its source. The repository's
    own file is held to glm_agent.config.trust.REPO_RULES unless `trust_repo` (--trust-repo-config).

    `recorded`: (source, config) of a run being resumed, between the repo file and --config: a record lives in
    the repository, so it is held to the same rules (what the user gave that run, they give again)."""
    user = (str(user_config_path()), _read_toml(user_config_path(), missing_ok=True))
    repo_layer = _repo_layer(Path(repo)) if repo is not None else ("repo", {})
    if recorded is not None:
        both: dict = {}
        for data in (repo_layer[1], recorded[1]):
            _deep_merge(both, copy.deepcopy(data))  # copies: merging must not change either layer
        repo_layer = (f"{repo_layer[0]} and {recorded[0]}", both)
    above = []  # the user's layers above the repository's
    if config_file is not None:
        above.append((str(config_file), _read_toml(Path(config_file), missing_ok=False)))
    above.append(("-c", _dotted({key: value for key, value in map(_parse_override, overrides)}, "-c")))
    above.append(("command-line flags", _dotted({k: v for k, v in (flags or {}).items() if v is not None}, "flag")))
    merged: dict = {}
    trusted: dict = {}
    for source, data in [user, repo_layer, *above]:
        _reject_secrets(data, source)
        _validate(data, source)
        _deep_merge(merged, copy.deepcopy(data))  # copies: the two merges must not share nested tables
        if data is not repo_layer[1]:
            _deep_merge(trusted, copy.deepcopy(data))
    config = _validate(merged, "merged configuration")
    if trust_repo or not repo_layer[1]:
        return config
    return apply_repo_rules(*repo_layer, config, _validate(trusted, "your configuration"), str(user_config_path()))


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
