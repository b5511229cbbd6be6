"""The model hears one thing about servers, in one place: the bash tool's description (never also the prompts).

Checked on what a run really sends: the first request's messages (system prompt, task prompt) and tool schemas.
"""
from __future__ import annotations

import json
import re

from glm_agent.jobs.run import Job, run_job
from glm_agent.prompts import TEMPLATE_DIR
from glm_agent.testing.models import ScriptedModel, make_turn
from helpers import no_evidence_config

SERVER = re.compile(r"\bservers?\b", re.IGNORECASE)


def first_request(repo) -> dict:
    model = ScriptedModel([make_turn(calls=[("finish", {"summary": "nothing to do"})])])
    run_job(Job("Check the web app", repo, no_evidence_config()), model=model)
    return model.requests[0]


def strings(value) -> list[str]:
    """Every string in a JSON value: what the model reads of it."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def test_server_guidance_is_said_once_in_the_bash_description(repo):
    request = first_request(repo)
    said = [(where, text) for where, value in [*((m["role"], m) for m in request["messages"]),
                                                *((t["function"]["name"], t) for t in request["tools"])]
            for text in strings(value) if SERVER.search(text)]
    assert [where for where, _ in said] == ["bash"], said
    bash = said[0][1]
    assert len(SERVER.findall(bash)) == 1
    assert "in the background" in bash and "2>&1 &" in bash and "killed" in bash


def test_no_prompt_template_speaks_of_servers():
    """Nudges, warnings and the fix prompts are sent too, later in a run: none may contradict the tool."""
    for template in sorted(TEMPLATE_DIR.glob("*.j2")):
        assert not SERVER.search(template.read_text(encoding="utf-8")), template.name


def test_the_system_prompt_does_not_forbid_what_the_bash_tool_explains(repo):
    request = first_request(repo)
    system = request["messages"][0]["content"]
    bash = next(t for t in request["tools"] if t["function"]["name"] == "bash")["function"]["description"]
    assert "background" not in system.lower() and "do not start" not in system.lower()
    assert "background" in bash
    assert json.dumps(request["tools"]).count("in the background") == 1
