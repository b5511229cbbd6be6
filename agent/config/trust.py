"""What a repository's own config file may set: one declared table, applied after the layers are merged.

A cloned repository is not the user. Its `.glm-agent.toml` (or `[tool.glm-agent]`) may tighten budgets, never
loosen what the user's own layers (defaults, user file, --config, -c, flags) give; it may not choose where the
key goes, what tokens cost, how commands are confined or whose name commits carry. A refused key stops the
run before anything starts (exit 2), naming the key and how to trust it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from glm_agent.config.settings import Config, ConfigError

LOWER = "lower"  # the repository may lower it (a number, None meaning no limit), never raise it
USER_ONLY = "user"  # only the user's layers may set it; the repository may repeat the user's value
ADD = "add"  # a list the repository may add to, never shorten (what is hidden or protected)

# dotted key (or a whole section) -> (rule, why a repository may not loosen or set it, the flag that sets it)
REPO_RULES: dict[str, tuple[str, str, str | None]] = {
    "limits.max_steps": (LOWER, "a repository may lower a budget, not raise it", "--max-steps"),
    "limits.max_cost_usd": (LOWER, "a repository may lower a budget, not raise it", "--max-cost"),
    "limits.max_total_tokens": (LOWER, "a repository may lower a budget, not raise it", "--max-tokens"),
    "limits.timeout": (LOWER, "a repository may lower a time limit, not raise it", "--timeout"),
    "model.max_tokens": (LOWER, "a repository may lower a budget, not raise it", None),
    "model.timeout": (LOWER, "a repository may lower a time limit, not raise it", None),
    "tools.bash_timeout_default": (LOWER, "a repository may lower a command timeout, not raise it", None),
    "tools.bash_timeout_max": (LOWER, "a repository may lower a command timeout, not raise it", None),
    "model.base_url": (USER_ONLY, "a repository may not choose where your API key is sent", "--base-url"),
    "model.endpoint": (USER_ONLY, "a repository may not choose where your API key is sent", "--endpoint"),
    "model.dialect": (USER_ONLY, "a repository may not choose how your API key is sent", "--dialect"),
    "model.prices": (USER_ONLY, "a repository may not set prices (a zero price disables the cost limit)", None),
    "sandbox.mode": (USER_ONLY, "a repository may not turn the sandbox of its own commands off", "--sandbox"),
    "sandbox.network": (USER_ONLY, "a repository may not give its own commands the network", "--network"),
    "sandbox.copy_max_mb": (USER_ONLY, "a repository may not shrink the copy undo relies on", None),
    "tools.git_user_name": (USER_ONLY, "a repository may not choose the identity of commits", None),
    "tools.git_user_email": (USER_ONLY, "a repository may not choose the identity of commits", None),
    "tools.extra_env_remove": (ADD, "", None),
    "tools.protected": (ADD, "", None),
    "sandbox.hide": (ADD, "", None),
    "mcp": (USER_ONLY, "a repository may not start servers or programs of its choosing", None),
    "hooks": (USER_ONLY, "a repository may not start servers or programs of its choosing", None),
}


def apply_repo_rules(source: str, repo: dict, merged: Config, trusted: Config, user_file: str) -> Config:
    """`merged` (every layer) checked against `trusted` (every layer but the repository's `repo`, read from
    `source`): a loosening or protected key raises ConfigError; an ADD list keeps the user's entries."""
    for key, (rule, why, flag) in REPO_RULES.items():
        if not _given(repo, key) or not _has(merged, key):
            continue
        mine, theirs = _get(merged, key), _get(trusted, key)
        if rule == ADD:
            merged = _set(merged, key, [*theirs, *(item for item in mine if item not in theirs)])
        elif mine != theirs and "." not in key:  # a whole section (mcp servers, hooks: commands to run)
            raise ConfigError(
                f"{source}: {', '.join(_named(repo, key))} refused: {why}. To use it, set it in {user_file} or in a "
                "file you pass with --config; or pass --trust-repo-config if you trust this repository as much as "
                "yourself (see docs/safety.md)")
        elif mine != theirs and (rule == USER_ONLY or not _lower(mine, theirs)):
            value = "" if mine is True else f" {mine}" if isinstance(mine, str) else f" {_shown(mine)}"
            set_it = f"pass {flag}{value}" if flag else f"pass -c {key}=..."
            raise ConfigError(
                f"{source}: {key} = {_shown(mine)} is refused: {why} (yours: {_shown(theirs)}). To use it, "
                f"{set_it}, or set {key} in {user_file}; or pass --trust-repo-config if you trust this repository "
                "as much as yourself (see docs/safety.md)")
    return merged


def _named(repo: dict, key: str) -> list[str]:
    """The dotted keys the repository set under a section, down to the entry: mcp.servers.NAME, hooks.EVENT."""
    node, names = repo[key], []
    for name, value in node.items():
        inner = list(value) if key == "mcp" and isinstance(value, dict) else []
        names += [f"{key}.{name}.{entry}" for entry in inner] or [f"{key}.{name}"]
    return names or [key]


def _lower(value: Any, limit: Any) -> bool:
    """Whether `value` is a tighter limit than `limit` (None: no limit)."""
    return value is not None and (limit is None or value <= limit)


def _shown(value: Any) -> str:
    return "none" if value is None else repr(value).replace("True", "true").replace("False", "false")


def _given(data: dict, key: str) -> bool:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _has(config: Config, key: str) -> bool:
    try:
        _get(config, key)
    except AttributeError:
        return False
    return True


def _get(config: Any, key: str) -> Any:
    for part in key.split("."):
        config = getattr(config, part)
    return config


def _set(config: Any, key: str, value: Any) -> Any:
    head, _, rest = key.partition(".")
    return replace(config, **{head: _set(getattr(config, head), rest, value) if rest else value})
