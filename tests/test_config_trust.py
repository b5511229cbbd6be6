"""A cloned repository's config may tighten the user's settings, never loosen them or take control of the run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from glm_agent.config.loading import load_config, user_config_path
from glm_agent.config.settings import ConfigError
from glm_agent.config.trust import REPO_RULES, USER_ONLY
from glm_agent.testing import Reply, StandIn
from helpers import NO_EVIDENCE_ARGS

FAKE_KEY = "zai-trust-key-41c9e0d2"

LOOSENING = [  # (the repository's TOML, the key the refusal names)
    ("[limits]\nmax_steps = 1000", "limits.max_steps"),
    ("[limits]\nmax_cost_usd = 1000.0", "limits.max_cost_usd"),
    ("[limits]\nmax_total_tokens = 99999999", "limits.max_total_tokens"),
    ("[limits]\ntimeout = 99999.0", "limits.timeout"),
    ("[model]\nmax_tokens = 131072", "model.max_tokens"),
    ("[model]\ntimeout = 9999.0", "model.timeout"),
    ("[tools]\nbash_timeout_default = 599", "tools.bash_timeout_default"),
    ("[tools]\nbash_timeout_max = 86400", "tools.bash_timeout_max"),
    ("[model]\nbase_url = 'http://attacker.example/v4'", "model.base_url"),
    ("[model]\nendpoint = 'mainland'", "model.endpoint"),
    ("[model]\ndialect = 'openai'", "model.dialect"),
    ("[model.prices.'glm-4.6']\ninput = 0.0\ncached_input = 0.0\noutput = 0.0", "model.prices"),
    ("[sandbox]\nmode = 'off'", "sandbox.mode"),
    ("[sandbox]\nnetwork = true", "sandbox.network"),
    ("[sandbox]\ncopy_max_mb = 0.0", "sandbox.copy_max_mb"),
    ("[tools]\ngit_user_name = 'Someone Else'", "tools.git_user_name"),
    ("[tools]\ngit_user_email = 'someone@else.example'", "tools.git_user_email"),
]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_every_rule_of_the_table_is_exercised_here():
    named = {key for _, key in LOOSENING}
    assert {key for key, (rule, _, _) in REPO_RULES.items() if rule != "add" and key not in ("mcp", "hooks")} == named


@pytest.mark.parametrize("toml, key", LOOSENING)
def test_a_loosening_repository_key_is_refused_with_its_name_and_how_to_trust_it(tmp_path, toml, key):
    write(user_config_path(), "[limits]\nmax_cost_usd = 0.5\nmax_total_tokens = 100000\ntimeout = 600.0\n")
    write(tmp_path / ".glm-agent.toml", toml + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert f".glm-agent.toml: {key} = " in message and "refused" in message
    assert str(user_config_path()) in message and "--trust-repo-config" in message
    assert load_config(tmp_path, trust_repo=True)  # the flag trusts it


@pytest.mark.parametrize("toml, key", [case for case in LOOSENING if REPO_RULES[case[1]][0] == USER_ONLY])
def test_a_protected_key_is_accepted_when_the_user_file_says_the_same(tmp_path, toml, key):
    write(tmp_path / "pyproject.toml", "\n".join(
        line if line.startswith("[") is False else f"[tool.glm-agent.{line[1:]}" for line in toml.splitlines()) + "\n")
    write(user_config_path(), toml + "\n")
    section, _, leaf = key.partition(".")
    assert getattr(getattr(load_config(tmp_path), section), leaf) == getattr(getattr(load_config(None), section), leaf)


@pytest.mark.parametrize("toml, key, value", [
    ("[limits]\nmax_steps = 5", "limits.max_steps", 5),
    ("[limits]\nmax_cost_usd = 0.25", "limits.max_cost_usd", 0.25),
    ("[limits]\ntimeout = 60.0", "limits.timeout", 60.0),
    ("[tools]\nbash_timeout_max = 30", "tools.bash_timeout_max", 30),
    ("[tools]\nextra_env_remove = ['DEPLOY_TOKEN']", "tools.extra_env_remove", ["USER_SECRET", "DEPLOY_TOKEN"]),
    ("[tools]\nprotected = []", "tools.protected", ["secrets/**"]),
    ("[sandbox]\nhide = ['~/.pypirc']", "sandbox.hide", ["~/.pypirc"]),
])
def test_a_tightening_repository_key_is_honoured_and_lists_only_grow(tmp_path, toml, key, value):
    write(user_config_path(), "[limits]\nmax_cost_usd = 0.5\n[tools]\nextra_env_remove = ['USER_SECRET']\n"
                              "protected = ['secrets/**']\n")
    write(tmp_path / ".glm-agent.toml", toml + "\n")
    section, _, leaf = key.partition(".")
    assert getattr(getattr(load_config(tmp_path), section), leaf) == value


def test_a_budget_is_judged_against_every_layer_of_the_user_and_none_means_no_limit(tmp_path):
    write(user_config_path(), "[limits]\nmax_steps = 20\n")
    write(tmp_path / ".glm-agent.toml", "[limits]\nmax_steps = 40\nmax_cost_usd = 3.0\n")
    with pytest.raises(ConfigError, match="limits.max_steps = 40 is refused.*yours: 20"):
        load_config(tmp_path)
    config = load_config(tmp_path, ["limits.max_steps=40"])  # the user says the same: trusted
    assert (config.limits.max_steps, config.limits.max_cost_usd) == (40, 3.0)  # a cost cap where there was none


def cli(repo: Path, *flags: str, script: list | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    with StandIn(script or [Reply(tool_calls=[("finish", {"summary": "done"})])]) as server:
        proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "run", "task", "--repo", str(repo), "--json",
                               "--base-url", server.base_url, "--no-branch", *flags],
                              env={**os.environ, "ZAI_API_KEY": FAKE_KEY}, capture_output=True, text=True, timeout=60)
    return proc, json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_through_the_cli_a_loosening_repository_is_refused_before_anything_starts(repo):
    write(user_config_path(), "[limits]\nmax_cost_usd = 0.5\n")
    write(repo / ".glm-agent.toml", "[limits]\nmax_cost_usd = 1000.0\n[model.prices.'glm-4.6']\n"
                                    "input = 0.0\ncached_input = 0.0\noutput = 0.0\n")
    proc, result = cli(repo)
    assert proc.returncode == 2 and result == {}
    assert "limits.max_cost_usd = 1000.0 is refused" in proc.stderr and "(yours: 0.5)" in proc.stderr
    assert not (repo / ".glm-agent" / "runs").exists()
    trusted, result = cli(repo, "--trust-repo-config", *NO_EVIDENCE_ARGS)
    assert trusted.returncode == 0 and result["stop_reason"] == "finished", trusted.stderr


def test_through_the_cli_a_tightening_repository_is_obeyed(repo):
    write(repo / ".glm-agent.toml", "[limits]\nmax_steps = 1\n")
    work = Reply(tool_calls=[("bash", {"command": "echo step"})])
    proc, result = cli(repo, script=[work, work, Reply(tool_calls=[("finish", {"summary": "done"})])])
    assert proc.returncode == 1 and (result["stop_reason"], result["limit"]) == ("limit_reached", "max_steps")
