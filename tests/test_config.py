"""Config precedence (defaults < user < repo < --config < -c < flags), TOML-ish -c values, clear errors."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from glm_agent.config.loading import load_config, user_config_path
from glm_agent.config.sections import SectionError
from glm_agent.config.settings import Config, ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_file(tmp_path):
    config = load_config(tmp_path)
    assert config == Config()
    assert config.limits.max_steps == 100 and config.model.name == "glm-4.6"
    assert config.context.window == 200_000


def test_user_file_honours_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    write(tmp_path / "xdg" / "glm-agent" / "config.toml", "[limits]\nmax_steps = 7\n")
    assert user_config_path() == tmp_path / "xdg" / "glm-agent" / "config.toml"
    assert load_config(tmp_path).limits.max_steps == 7


def test_each_layer_overrides_the_one_below(tmp_path):
    write(user_config_path(), "[limits]\nmax_steps = 1\nmax_cost_usd = 1.0\n[model]\nname = 'u'\ntemperature = 0.1\n")
    repo = tmp_path / "repo"
    write(repo / ".glm-agent.toml", "[limits]\nmax_steps = 2\n[model]\nname = 'r'\ntemperature = 0.2\n")
    extra = write(tmp_path / "extra.toml", "[model]\nname = 'f'\ntemperature = 0.3\n")
    config = load_config(repo, ["model.temperature=0.4", "model.name=c"], extra, {"model.name": "flag", "limits.timeout": None})
    assert config.limits.max_cost_usd == 1.0      # user
    assert config.limits.max_steps == 2           # repo beats user
    assert config.model.temperature == 0.4       # -c beats --config
    assert config.model.name == "flag"            # flags beat -c
    assert config.limits.timeout is None          # a None flag means "not given"


def test_pyproject_tool_section_is_the_repo_layer(tmp_path):
    write(tmp_path / "pyproject.toml", "[project]\nname='x'\n[tool.glm-agent.limits]\nmax_steps = 5\n")
    assert load_config(tmp_path).limits.max_steps == 5


def test_dot_glm_agent_toml_wins_over_pyproject(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.glm-agent.limits]\nmax_steps = 5\n")
    write(tmp_path / ".glm-agent.toml", "[limits]\nmax_steps = 6\n")
    assert load_config(tmp_path).limits.max_steps == 6


@pytest.mark.parametrize("raw,expected", [
    ("git.commit=false", False),
    ("limits.max_cost_usd=0.5", 0.5),
    ("tools.protected=['tests/*', '.github/**']", ["tests/*", ".github/**"]),
    ("model.base_url=http://localhost:8000/v1", "http://localhost:8000/v1"),
    ('model.name="glm-4.6-air"', "glm-4.6-air"),
])
def test_dash_c_values_are_toml_or_plain_strings(tmp_path, raw, expected):
    config = load_config(tmp_path, [raw])
    section, key = raw.split("=")[0].split(".")
    assert getattr(getattr(config, section), key) == expected


@pytest.mark.parametrize("overrides,needle", [
    (["limits.max_steps=zero"], "limits.max_steps"),
    (["limits.nope=1"], "limits.nope"),
    (["model.temperature=3"], "model.temperature"),
    (["novalue"], "key=value"),
])
def test_bad_values_raise_config_error_naming_the_key(tmp_path, overrides, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        load_config(tmp_path, overrides)


def test_secret_in_a_file_is_refused(tmp_path):
    write(tmp_path / ".glm-agent.toml", "[model]\napi_key = 'sk-123'\n")
    with pytest.raises(ConfigError, match="environment only") as info:
        load_config(tmp_path)
    assert "sk-123" not in str(info.value)


def test_invalid_toml_and_missing_config_file_are_config_errors(tmp_path):
    write(tmp_path / ".glm-agent.toml", "[limits\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(None, config_file=tmp_path / "missing.toml")


def test_error_names_the_file_it_came_from(tmp_path):
    write(user_config_path(), "[limits]\nmax_steps = -1\n")
    with pytest.raises(ConfigError, match=os.path.basename(str(user_config_path()))):
        load_config(tmp_path)



def test_price_table_reaches_the_client(tmp_path, monkeypatch):
    from glm_agent.jobs.run import build_client

    monkeypatch.setenv("ZAI_API_KEY", "test-key-123456")
    write(tmp_path / ".glm-agent.toml", '[model]\ndialect = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
                                        '[model.prices."glm-4.6"]\ninput = 0.0\ncached_input = 0.0\noutput = 0.0\n')
    config = load_config(tmp_path, flags={"model.base_url": "http://127.0.0.1:9/v1"})
    assert config.model.prices == {"glm-4.6": {"input": 0.0, "cached_input": 0.0, "output": 0.0}}
    with build_client(config) as client:
        assert client.prices == config.model.prices


def test_a_repository_cannot_send_the_key_to_a_server_of_its_choosing(tmp_path):
    repo = tmp_path / "repo"
    write(repo / ".glm-agent.toml", "[model]\nbase_url = 'http://attacker.example:9999/v4'\n")
    with pytest.raises(ConfigError) as info:
        load_config(repo)
    assert ".glm-agent.toml" in str(info.value) and "--base-url http://attacker.example:9999/v4" in str(info.value)


@pytest.mark.parametrize("how", ["flag", "-c", "user file"])
def test_a_repository_base_url_is_used_once_the_user_gives_the_same_one(tmp_path, how):
    url = "http://gpu-box:8000/v1"
    repo = tmp_path / "repo"
    write(repo / "pyproject.toml", f"[tool.glm-agent.model]\nbase_url = '{url}'\ndialect = 'openai'\n")
    overrides, flags = [], {}
    if how == "flag":
        flags = {"model.base_url": url}
    elif how == "-c":
        overrides = [f"model.base_url={url}"]
    else:
        write(user_config_path(), f"[model]\nbase_url = '{url}'\n")
    config = load_config(repo, overrides, None, flags)
    assert config.model.base_url == url and config.model.dialect == "openai"


def test_a_repository_base_url_overridden_by_the_user_is_harmless(tmp_path):
    repo = tmp_path / "repo"
    write(repo / ".glm-agent.toml", "[model]\nbase_url = 'http://attacker.example/v4'\n")
    assert load_config(repo, [], None, {"model.base_url": "http://127.0.0.1:1/v4"}).model.base_url == "http://127.0.0.1:1/v4"


@pytest.mark.parametrize("toml,problem", [
    ("[limits]\nmax_steps = 0", "limits.max_steps: must be greater than 0 (got 0)"),
    ("[limits]\nwarn_at = 1.5", "limits.warn_at: must be less than or equal to 1 (got 1.5)"),
    ("[limits]\nmax_steps = 2.5", "limits.max_steps: must be an integer (got 2.5)"),
    ("[limits]\nmax_steps = true", "limits.max_steps: must be an integer (got True)"),
    ("[limits]\nmax_cost_usd = false", "limits.max_cost_usd: must be a number (got False)"),
    ("[limits]\nnope = 1", "limits.nope: unknown key"),
    ("nope = 1", "nope: unknown key"),
    ("limits = 3", "limits: must be a table (got 3)"),
    ("[model]\nname = 4", "model.name: must be a string (got 4)"),
    ("[model]\nstream = 'yes'", "model.stream: must be true or false (got 'yes')"),
    ("[model]\nendpoint = 'x'", "model.endpoint: must be one of 'general', 'coding', 'mainland', 'mainland-coding' "
                                  "(got 'x')"),
    ("[model]\nbackoff = [1.0]", "model.backoff: must be a list of 2 items (got [1.0])"),
    ("[model]\nbackoff = [1, -2]", "model.backoff.1: must be greater than or equal to 0 (got -2)"),
    ("[model]\nbase_url = 'localhost:8000'", "model.base_url: must start with http:// or https://"),
    ("[model.prices.glm]\ninput = 'cheap'", "model.prices.glm.input: must be a number (got 'cheap')"),
    ("[tools]\nprotected = 'tests/**'", "tools.protected: must be a list (got 'tests/**')"),
    ("[tools]\nprotected = ['ok', 3]", "tools.protected.1: must be a string (got 3)"),
    ("[tools]\nbash_timeout_max = 0", "tools.bash_timeout_max: must be greater than 0 (got 0)"),
    ("[tools.extra]\nx = 1", "tools.extra: unknown key"),
])
def test_each_bad_value_names_its_dotted_key_and_the_file(tmp_path, toml, problem):
    write(tmp_path / ".glm-agent.toml", toml + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / '.glm-agent.toml'}: invalid configuration: ")
    assert problem in str(info.value)


def test_all_problems_are_listed_at_once(tmp_path):
    write(tmp_path / ".glm-agent.toml", "[limits]\nmax_steps = 0\nnope = 1\n[model]\ndialect = 'x'\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    for problem in ("limits.max_steps: must be greater than 0", "limits.nope: unknown key", "model.dialect: must be"):
        assert problem in str(info.value)


def test_lax_numbers_and_toml_arrays_become_the_field_types(tmp_path):
    write(tmp_path / ".glm-agent.toml", "[limits]\nmax_cost_usd = 2\nmax_steps = 40.0\n[model]\nbackoff = [2, 60]\n")
    config = load_config(tmp_path)
    assert config.limits.max_cost_usd == 2.0 and isinstance(config.limits.max_cost_usd, float)
    assert config.limits.max_steps == 40 and isinstance(config.limits.max_steps, int)
    assert config.model.backoff == (2.0, 60.0)
    assert config.to_dict()["model"]["backoff"] == [2.0, 60.0]  # JSON-able: tuples as lists


def test_library_construction_converts_nested_dicts_and_validates():
    config = Config(limits={"max_steps": 40, "max_cost_usd": 0.5}, tools={"protected": ["tests/**"]})
    assert config.limits.max_steps == 40 and config.limits.max_cost_usd == 0.5 and config.limits.warn_at == 0.9
    assert config.tools.protected == ["tests/**"] and "ZAI_API_KEY" in config.tools.hidden_env
    with pytest.raises(SectionError) as info:
        Config(limits={"max_steps": 0, "typo": 1}, model={"top_p": 0})
    assert info.value.problems == ["model.top_p: must be greater than 0 (got 0)", "limits.typo: unknown key",
                                   "limits.max_steps: must be greater than 0 (got 0)"]


def test_replace_validates_again_and_sections_are_frozen():
    limits = Config().limits
    assert dataclasses.replace(limits, timeout=5).timeout == 5.0
    with pytest.raises(SectionError, match=r"^timeout: must be greater than 0 \(got -1\)$"):
        dataclasses.replace(limits, timeout=-1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_steps = 0


def test_to_dict_round_trips_through_from_dict(tmp_path):
    write(tmp_path / ".glm-agent.toml", '[model.prices."glm-4.6"]\ninput = 1\ncached_input = 0.5\noutput = 2\n'
                                        "[tools]\nprotected = ['a']\n")
    config = load_config(tmp_path)
    assert Config.from_dict(config.to_dict()) == config
    with pytest.raises(SectionError, match="must be a table"):
        Config.from_dict([])


def test_a_config_recorded_by_the_pydantic_version_still_replays():
    recorded = json.loads(  # a start event's "config" as glm-agent wrote it with pydantic's model_dump(mode="json")
        '{"model": {"name": "glm-4.6", "base_url": null, "endpoint": "coding", "dialect": "zai", "thinking": null, '
        '"stream": true, "tool_stream": true, "temperature": null, "top_p": null, "max_tokens": 16384, '
        '"timeout": 300.0, "connect_timeout": 8.0, "max_retries": 3, "backoff": [1.0, 30.0], '
        '"prices": {"glm-4.6": {"input": 1.0, "cached_input": 0.0, "output": 2.0}}}, '
        '"limits": {"max_steps": 30, "max_cost_usd": 0.5, "max_total_tokens": null, "timeout": null, "warn_at": 0.9, '
        '"stuck_repeats": 3, "max_format_errors": 3}, "context": {"window": 200000, "shorten_at": 0.8, '
        '"exhausted_at": 0.95, "keep_recent_steps": 3, "keep_chars": 1500, "agents_md_max_bytes": 32768}, '
        '"git": {"branch": true, "commit": true, "commit_on_stop": false}, "tools": {"bash_timeout_default": 120, '
        '"bash_timeout_max": 600, "output_limit": 30000, "git_user_name": "glm-agent", '
        '"git_user_email": "glm-agent@localhost", "protected": ["tests/**"], "extra_env_remove": []}}')
    config = Config.from_dict(recorded)
    assert config.model.endpoint == "coding" and config.limits.max_cost_usd == 0.5
    assert config.model.backoff == (1.0, 30.0) and config.tools.protected == ["tests/**"]
    assert config.to_dict() == {**recorded, "limits": {**recorded["limits"], "evidence_before_finish": True}}  # new key


def test_loading_the_config_does_not_import_pydantic(tmp_path):
    write(tmp_path / ".glm-agent.toml", "[limits]\nmax_steps = 7\n[model]\nbackoff = [1, 2]\n")
    code = ("import sys, glm_agent.config.loading, glm_agent.core.loop, glm_agent.tools.base\n"
            f"assert glm_agent.config.loading.load_config({str(tmp_path)!r}).limits.max_steps == 7\n"
            "assert 'pydantic' not in sys.modules, 'pydantic was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
