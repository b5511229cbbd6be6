"""Prompt templates: strict rendering, byte-stable system prompt, task facts and AGENTS.md in the task prompt."""
from __future__ import annotations

import jinja2
import pytest
from glm_agent.prompts import TEMPLATE_DIR, render

FACTS = {"root": "/r", "workdir": ".", "branch": "main", "files": ["a.py", "tests"], "dirty": False, "sandbox": None}


def test_missing_variable_raises_instead_of_rendering_empty():
    with pytest.raises(jinja2.UndefinedError):
        render("task", task="x")


def test_system_prompt_is_byte_stable_and_has_no_volatile_facts():
    first, second = render("system"), render("system.j2")
    assert first == second
    assert "finish" in first and "20" not in first  # no timestamps or years


def test_task_prompt_carries_task_facts_and_agents_md():
    text = render("task", task="Fix the bug", facts=FACTS,
                  agents_md=[{"path": "AGENTS.md", "text": "Run pytest -q.", "truncated": False}])
    assert text.startswith("Fix the bug")
    assert "branch: main" in text and "a.py, tests" in text
    assert "--- AGENTS.md ---\nRun pytest -q." in text


def test_task_prompt_without_agents_md_has_no_instructions_section():
    text = render("task", task="t", facts=FACTS, agents_md=[])
    assert "AGENTS.md" not in text


@pytest.mark.parametrize("name,variables", [
    ("nudge", {"reason": "idle"}),
    ("nudge", {"reason": "leaked_call"}),
    ("nudge", {"reason": "truncated"}),
    ("limit_warning", {"percent": 90, "limit": "max_steps", "used": 90, "budget": 100}),
    ("shortened", {"original_chars": 5000, "head": "abc", "tail": "xyz", "cut": 4994}),
])
def test_each_template_renders_non_empty(name, variables):
    assert render(name, **variables).strip()


def test_every_template_is_a_j2_file_so_package_data_ships_it():
    names = sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.name != "__init__.py" and p.suffix != ".pyc" and p.is_file())
    assert names and all(n.endswith(".j2") for n in names)
