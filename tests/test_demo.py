"""The offline demo: a real failing test, fixed by recorded GLM turns through the real client, loop and tools."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import glm_agent.jobs.demo as demo
import pytest
from glm_agent.cli.main import main


def test_the_demo_project_really_fails_its_tests(tmp_path):
    repo = demo.prepare_repo(tmp_path / "shopcart")
    proc = subprocess.run([sys.executable, "-m", "unittest", "-q"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 1 and "test_bulk_discount_starts_at_ten_items" in proc.stderr
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == ""


def test_offline_demo_fixes_the_bug_and_shows_the_diff(monkeypatch, capsys):
    monkeypatch.setattr(demo, "TURN_LATENCY", 0.0)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "→ bash python3 -m unittest" in out and "→ edit_file" in out
    assert "stop: finished" in out and "files changed: shopcart/cart.py" in out
    assert "-        if self.quantity > BULK_QUANTITY:\n+        if self.quantity >= BULK_QUANTITY:" in out
    assert "OK" in out  # the second test run passed


@pytest.mark.slow
def test_demo_command_works_without_a_key_and_prints_json():
    env = {k: v for k, v in os.environ.items() if k != "ZAI_API_KEY"}
    proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "demo", "--json"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["stop_reason"] == "finished" and result["files_changed"] == ["shopcart/cart.py"]
    assert result["commit"] and result["steps"] == 5


def test_live_demo_without_a_key_says_what_to_set():
    env = {k: v for k, v in os.environ.items() if k != "ZAI_API_KEY"}
    proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "demo", "--live"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 3 and "ZAI_API_KEY" in proc.stderr
