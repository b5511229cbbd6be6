"""One identity rule for every commit glm-agent makes: the repository's own identity when it has one, else the
configured one (tools.git_user_name / tools.git_user_email), else the default (glm-agent <glm-agent@localhost>).

A real run on a real temporary repository makes all three kinds of commit: the snapshot before the run, the
model's own git_commit, and the final commit when the run finishes.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from glm_agent.config.settings import Config
from glm_agent.jobs.run import Job, run_job
from glm_agent.testing.models import ScriptedModel, make_turn


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def global_config(tmp_path, monkeypatch) -> Path:
    """An empty global git config of the test's own (never the developer's), and no system config."""
    path = tmp_path / "global.gitconfig"
    path.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    return path


def make_repo(path: Path, identity: tuple[str, str] | None) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    if identity:
        git(path, "config", "user.name", identity[0])
        git(path, "config", "user.email", identity[1])
    (path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    env_identity = ["-c", "user.name=Setup", "-c", "user.email=setup@example.com"]
    git(path, *env_identity, "add", "calc.py")
    git(path, *env_identity, "commit", "-q", "-m", "calc")
    return path


def run_with_all_commit_kinds(repo: Path, config: Config):
    """A run whose model commits once itself (git_commit) and then finishes with one more change."""
    model = ScriptedModel([
        make_turn(calls=[("edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"})]),
        make_turn(calls=[("git_commit", {"message": "add() adds"})]),
        make_turn(calls=[("write_file", {"path": "notes.txt", "content": "fixed\n"})]),
        make_turn(calls=[("finish", {"summary": "add() now adds"})]),
    ])
    return run_job(Job("Make add() add", repo, config, run_id="identity-run"), model=model)


def authors(repo: Path, result) -> dict[str, str]:
    """`name <email>` of the author and committer of each commit the run made."""
    def who(rev: str) -> str:
        return git(repo, "log", "-1", "--format=%an <%ae> / %cn <%ce>", rev)

    own = git(repo, "log", "--format=%H", "main..HEAD").splitlines()  # newest first: final, then git_commit
    assert len(own) == 2 and own[0] == result.commit
    return {"snapshot": who("refs/glm-agent/identity-run/worktree"), "git_commit": who(own[1]),
            "final": who(own[0])}


CONFIGURED = {"tools": {"git_user_name": "Configured Bot", "git_user_email": "bot@example.com"}}


@pytest.mark.parametrize("repo_identity,config,expected", [
    (("Repo Owner", "owner@example.com"), CONFIGURED, "Repo Owner <owner@example.com>"),
    (None, CONFIGURED, "Configured Bot <bot@example.com>"),
    (None, {}, "glm-agent <glm-agent@localhost>"),
], ids=["repo-identity", "configured", "default"])
def test_every_commit_of_a_run_follows_the_one_identity_rule(tmp_path, global_config, repo_identity, config,
                                                              expected):
    repo = make_repo(tmp_path / "repo", repo_identity)
    config_before = (repo / ".git" / "config").read_text()
    result = run_with_all_commit_kinds(repo, Config(**config))
    assert result.stop_reason == "finished", result.error
    assert authors(repo, result) == {kind: f"{expected} / {expected}" for kind in ("snapshot", "git_commit", "final")}
    assert (repo / ".git" / "config").read_text() == config_before  # nothing written to the user's config
    assert global_config.read_text() == ""


def test_a_global_identity_counts_as_the_repositorys_own(tmp_path, global_config):
    global_config.write_text("[user]\n\tname = Global User\n\temail = global@example.com\n")
    repo = make_repo(tmp_path / "repo", None)
    result = run_with_all_commit_kinds(repo, Config(**CONFIGURED))
    expected = "Global User <global@example.com> / Global User <global@example.com>"
    assert authors(repo, result) == {"snapshot": expected, "git_commit": expected, "final": expected}


def test_half_an_identity_is_not_one(tmp_path, global_config):
    """A repository with a name but no email: the configured identity, whole (git would guess the email)."""
    repo = make_repo(tmp_path / "repo", None)
    git(repo, "config", "user.name", "Only A Name")
    result = run_with_all_commit_kinds(repo, Config(**CONFIGURED))
    expected = "Configured Bot <bot@example.com> / Configured Bot <bot@example.com>"
    assert authors(repo, result) == {"snapshot": expected, "git_commit": expected, "final": expected}
