"""Opt-in: the demo task given to the real GLM-4.6 (GLM_AGENT_LIVE=1 and ZAI_API_KEY; costs a few cents)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from glm_agent.config.settings import Config
from glm_agent.jobs.demo import TASK, prepare_repo
from glm_agent.jobs.run import Job, run_job

LIVE_KEY = os.environ.get("ZAI_API_KEY") if os.environ.get("GLM_AGENT_LIVE") == "1" else None
ENDPOINT = os.environ.get("GLM_AGENT_LIVE_ENDPOINT", "general")

pytestmark = [pytest.mark.live, pytest.mark.skipif(not LIVE_KEY, reason="live GLM test: set GLM_AGENT_LIVE=1 "
                                                                        "and ZAI_API_KEY to run")]


def test_real_glm_fixes_the_demo_bug(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", LIVE_KEY)
    repo = prepare_repo(tmp_path / "shopcart")
    config = Config(model={"endpoint": ENDPOINT}, limits={"max_steps": 30, "max_cost_usd": 0.5})
    result = run_job(Job(TASK, repo, config), display=None)
    assert result.stop_reason == "finished", result.error
    tests = subprocess.run([sys.executable, "-m", "unittest", "-q"], cwd=repo, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stderr
    assert result.commit and "shopcart/cart.py" in result.files_changed
    assert not [p for p in (repo / ".glm-agent").rglob("*") if p.is_file() and LIVE_KEY in p.read_text(errors="replace")]
