"""Replay: recorded model turns fed through the real loop and tools; identical results, or where they differ."""
from __future__ import annotations

import subprocess
import sys

import pytest
from glm_agent.jobs.replay import ReplayError, replay
from glm_agent.testing import Reply
from helpers import call, finish, run_script


def script():
    return [call("read_file", path="README.md"),
            Reply(tool_calls=[("edit_file", {"path": "README.md", "old_string": "hello", "new_string": "hi"})]),
            call("bash", command="cat README.md"), finish("greeting shortened")]


def test_replay_into_a_fresh_clone_matches_the_recording(repo):
    (repo / "README.md").write_text("hello\nuncommitted line\n")  # the start snapshot includes it
    result, _, _ = run_script(repo, script())
    outcome = replay(result.run_dir)
    assert outcome["differences"] == [] and outcome["matched"] == outcome["tool_calls"] == 4
    assert outcome["recorded_stop"] == outcome["replayed_stop"] == "finished"


def test_replay_into_a_changed_repo_reports_the_first_differing_line(repo):
    result, _, _ = run_script(repo, script())
    outcome = replay(result.run_dir, repo)  # the edit is already applied here
    steps = {d["tool"]: d for d in outcome["differences"]}
    assert set(steps) >= {"read_file", "edit_file"}
    assert "hi" in steps["read_file"]["replayed"] and "hello" in steps["read_file"]["recorded"]


def test_replay_cli_exit_codes(repo, tmp_path):
    result, _, _ = run_script(repo, script())
    ok = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "replay", result.run_dir], capture_output=True, text=True)
    assert ok.returncode == 0 and "4 identical" in ok.stdout
    differs = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "replay", result.run_dir, "--repo", repo],
                             capture_output=True, text=True)
    assert differs.returncode == 1 and "differs" in differs.stdout
    missing = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "replay", tmp_path / "nope"], capture_output=True,
                             text=True)
    assert missing.returncode == 2 and "trajectory" in missing.stderr


def test_missing_run_dir_raises(tmp_path):
    with pytest.raises(ReplayError):
        replay(tmp_path)
