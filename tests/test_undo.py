"""undo on real temporary repos: back to the exact starting state, later user work kept, refusals explained."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from glm_agent.cli.undo import register
from glm_agent.git.snapshot import RunSnapshot
from glm_agent.jobs.undo import UndoError, undo
from helpers import git_out as git
from helpers import make_user_mess


def state(repo: Path) -> tuple:
    """Everything a user would notice: branch, HEAD, status (staged vs not), and file contents."""
    files = {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*")
             if p.is_file() and ".git" not in p.relative_to(repo).parts[:1] and ".glm-agent" not in p.parts}
    return (git(repo, "branch", "--show-current"), git(repo, "rev-parse", "HEAD"),
            git(repo, "status", "--porcelain", "-uall"), files)


def agent_run(repo: Path, run_id: str, branch: str | None, commit: bool = True):
    guard = RunSnapshot.begin(repo, run_id, branch=branch)
    (repo / "lib.py").write_text((repo / "lib.py").read_text().replace("line 5\n", "line five\n"))
    (repo / "pkg").mkdir(exist_ok=True)
    (repo / "pkg" / "new.py").write_text("new = True\n")
    (repo / "notes" / "untracked.txt").unlink()  # the agent even deletes a user's untracked file
    return guard.end("agent work", commit=commit)


def test_undo_after_committed_run_from_dirty_tree(repo):
    make_user_mess(repo)
    before = state(repo)
    outcome = agent_run(repo, "r1", branch="glm-agent/work")
    assert outcome.commit and state(repo) != before

    message = undo(repo)

    assert state(repo) == before
    assert git(repo, "rev-parse", "refs/glm-agent/r1/branch").strip() == outcome.commit
    assert git(repo, "branch", "--list", "glm-agent/work") == ""
    assert "Undid run r1" in message and "refs/glm-agent/r1/branch" in message
    assert "Restored 2 file(s) the run had changed: lib.py, notes/untracked.txt" in message
    assert "Removed 1 file(s) the run had created: pkg/new.py" in message
    with pytest.raises(UndoError, match="no glm-agent run to undo"):
        undo(repo)


def test_undo_of_uncommitted_run(repo):
    make_user_mess(repo)
    before = state(repo)
    agent_run(repo, "r1", branch="work", commit=False)
    undo(repo, "r1")
    assert state(repo) == before


def test_undo_of_run_that_committed_on_the_users_branch(repo):
    make_user_mess(repo)
    before = state(repo)
    outcome = agent_run(repo, "r1", branch=None)
    assert git(repo, "rev-parse", "main").strip() == outcome.commit
    undo(repo, "r1")
    assert state(repo) == before
    assert git(repo, "rev-parse", "refs/glm-agent/r1/branch").strip() == outcome.commit


def test_later_user_work_in_other_files_is_kept(repo):
    make_user_mess(repo)
    agent_run(repo, "r1", branch="work")
    (repo / "after.txt").write_text("written after the run\n")
    (repo / "README.md").write_text("hello\nuser edit\nmore after the run\n")
    undo(repo)
    assert (repo / "after.txt").read_text() == "written after the run\n"
    assert (repo / "README.md").read_text() == "hello\nuser edit\nmore after the run\n"
    assert "line five" not in (repo / "lib.py").read_text()
    assert not (repo / "pkg").exists()


def test_refuses_to_overwrite_a_file_edited_after_the_run(repo):
    make_user_mess(repo)
    agent_run(repo, "r1", branch="work")
    (repo / "pkg" / "new.py").write_text("user kept working on this\n")
    before = state(repo)
    with pytest.raises(UndoError, match="pkg/new.py"):
        undo(repo)
    assert state(repo) == before


def test_refuses_when_run_branch_has_user_commits(repo):
    make_user_mess(repo)
    agent_run(repo, "r1", branch="work")
    (repo / "user_after.py").write_text("x\n")
    git(repo, "add", "user_after.py")
    git(repo, "commit", "-qm", "user commit on the run's branch")
    before = state(repo)
    with pytest.raises(UndoError, match="commits made after run r1"):
        undo(repo)
    assert state(repo) == before and git(repo, "rev-parse", "--verify", "work")


def test_a_run_that_switched_to_the_users_branch_and_committed_there_is_refused_with_the_way_out(repo):
    guard = RunSnapshot.begin(repo, "r1", branch="work")
    start = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "-q", "main")  # what a model's `git switch main` does mid-run
    (repo / "fix.py").write_text("x\n")
    outcome = guard.end("fix", commit=True)
    assert outcome.branch == "main" and outcome.commit
    before = state(repo)
    with pytest.raises(UndoError, match="ended on main, not on its branch work") as info:
        undo(repo)
    assert state(repo) == before
    way_out = re.findall(r"`(git [^`]+)`", str(info.value))
    assert [command.split()[:3] for command in way_out] == [["git", "reset", "--keep"], ["git", "branch", "-d"]]
    for command in way_out:  # followed as a user would
        git(repo, *command.split()[1:])
    assert state(repo)[:2] == ("main\n", start + "\n") and not (repo / "fix.py").exists()
    assert git(repo, "branch", "--list", "work") == ""


def test_undo_after_user_switched_back_keeps_branch_as_ref(repo):
    outcome = RunSnapshot.begin(repo, "r1", branch="work")
    (repo / "fix.py").write_text("x\n")
    outcome = outcome.end("fix", commit=True)
    git(repo, "switch", "-q", "main")
    message = undo(repo)
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert git(repo, "branch", "--list", "work") == ""
    assert git(repo, "rev-parse", "refs/glm-agent/r1/branch").strip() == outcome.commit
    assert "No files needed restoring." in message


def test_refuses_a_run_that_never_ended(repo):
    RunSnapshot.begin(repo, "r1", branch="work")
    with pytest.raises(UndoError, match="never recorded its end"):
        undo(repo)


def test_cli_handler_exit_codes(repo, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["undo", "--repo", str(repo)])
    assert args.handler(args) == 1
    assert "no glm-agent run to undo" in capsys.readouterr().err
    RunSnapshot.begin(repo, "r1", branch="work").end("nothing", commit=True)
    args = parser.parse_args(["undo", "r1", "--repo", str(repo)])
    assert args.handler(args) == 0
    assert "Undid run r1" in capsys.readouterr().out


def test_cli_undo_after_a_real_run_that_committed_from_a_dirty_tree(repo, monkeypatch):
    """`glm-agent run` (stand-in model, real tools) commits on its branch; `glm-agent undo` puts everything back."""
    import json
    import subprocess
    import sys

    from glm_agent.testing import Reply, StandIn

    monkeypatch.setenv("ZAI_API_KEY", "sk-test-undo-0123456789")
    make_user_mess(repo)
    before = state(repo)
    script = [Reply(tool_calls=[("edit_file", {"path": "lib.py", "old_string": "line 7\n", "new_string": "seven\n"})]),
              Reply(tool_calls=[("write_file", {"path": "docs/added.md", "content": "# added\n"})]),
              Reply(tool_calls=[("finish", {"summary": "Renamed line 7, added docs."})])]
    with StandIn(script) as server:
        run = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "run", "tidy up", "--repo", str(repo), "--json",
                              "--base-url", server.base_url], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert git(repo, "show", "--name-only", "--format=", result["commit"]).split() == ["docs/added.md", "lib.py"]
    assert state(repo) != before

    undone = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "undo", "--repo", str(repo)],
                            capture_output=True, text=True, timeout=60)

    assert undone.returncode == 0, undone.stderr
    assert state(repo) == before
    run_id = Path(result["run_dir"]).name
    assert f"Undid run {run_id}" in undone.stdout
    assert git(repo, "rev-parse", f"refs/glm-agent/{run_id}/branch").strip() == result["commit"]


def test_detached_head_run_without_branch_is_undone(repo):
    make_user_mess(repo)
    git(repo, "switch", "-q", "--detach", "HEAD")
    before = state(repo)
    outcome = agent_run(repo, "r1", branch=None)
    assert git(repo, "rev-parse", "HEAD").strip() == outcome.commit
    undo(repo)
    assert state(repo) == before


def test_refuses_when_the_starting_branch_moved(repo):
    make_user_mess(repo)
    agent_run(repo, "r1", branch="work")
    git(repo, "update-ref", "refs/heads/main", "HEAD")  # e.g. a fast-forward of main from another worktree
    before = state(repo)
    with pytest.raises(UndoError, match="branch main has moved"):
        undo(repo)
    assert state(repo) == before


def test_unknown_run_id(repo):
    with pytest.raises(UndoError, match="no glm-agent run '../x' recorded"):
        undo(repo, "../x")
