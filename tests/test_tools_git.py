"""git_status, git_diff, git_log, git_commit (gitpython, real repo) and finish with and without a gate."""
from __future__ import annotations

import json

import git
import pytest
from glm_agent.tools import EndRun, ToolSettings, build_toolset


def call(toolset, name, **kwargs):
    return toolset.dispatch(name, json.dumps(kwargs))


def test_status_and_diff(repo):
    tools = build_toolset(repo)
    assert "clean" in call(tools, "git_status").text
    (repo / "README.md").write_text("hello\nworld\n")
    (repo / "new.py").write_text("x = 1\n")
    status = call(tools, "git_status").text
    assert " M README.md" in status and "?? new.py" in status and "## main" in status
    diff = call(tools, "git_diff").text
    assert "+world" in diff and "README.md | 1 +" in diff
    assert "+world" in call(tools, "git_diff", path="README.md").text
    assert "No staged changes" in call(tools, "git_diff", staged=True).text
    repo_obj = git.Repo(repo)
    repo_obj.index.add(["README.md"])
    assert "+world" in call(tools, "git_diff", staged=True).text
    no_unstaged = call(tools, "git_diff").text
    assert "No unstaged changes" in no_unstaged and "new.py" in no_unstaged


def test_diff_path_outside_is_refused(repo):
    assert call(build_toolset(repo), "git_diff", path="../x").is_error


def test_log(repo):
    tools = build_toolset(repo)
    assert "Test User: initial" in call(tools, "git_log").text
    assert "must be" not in call(tools, "git_log", n=1).text
    assert call(tools, "git_log", n=0).is_error


def test_commit_stages_changes_but_not_ignored_files(repo):
    tools = build_toolset(repo)
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "app.py").write_text("print(1)\n")
    (repo / "debug.log").write_text("noise\n")
    result = call(tools, "git_commit", message="Add app")
    assert not result.is_error, result.text
    assert "Committed" in result.text and "Add app" in result.text and "app.py" in result.text
    head = git.Repo(repo).head.commit
    assert set(head.stats.files) == {".gitignore", "app.py"}
    assert head.author.name == "Test User"


def test_commit_given_paths_only(repo):
    (repo / "a.py").write_text("a\n")
    (repo / "b.py").write_text("b\n")
    result = call(build_toolset(repo), "git_commit", message="Only a", paths=["a.py"])
    assert not result.is_error
    assert set(git.Repo(repo).head.commit.stats.files) == {"a.py"}
    assert "b.py" in git.Repo(repo).untracked_files


def test_commit_uses_default_identity_when_repo_has_none(tmp_path):
    path = tmp_path / "bare"
    repo = git.Repo.init(path, initial_branch="main")
    (path / "f.txt").write_text("x\n")
    settings = ToolSettings(git_user_name="Bot", git_user_email="bot@example.com")
    result = call(build_toolset(path, settings), "git_commit", message="first", paths=["f.txt"])
    assert not result.is_error, result.text
    assert repo.head.commit.author.email == "bot@example.com"
    assert "Bot" not in (path / ".git" / "config").read_text()


def test_commit_with_nothing_to_commit_and_ignored_path(repo):
    tools = build_toolset(repo)
    result = call(tools, "git_commit", message="empty")
    assert result.is_error and "nothing to commit" in result.text
    (repo / ".gitignore").write_text("secret.env\n")
    (repo / "secret.env").write_text("KEY=1\n")
    ignored = call(tools, "git_commit", message="x", paths=["secret.env"])
    assert ignored.is_error and "ignored" in ignored.text


def test_git_tools_outside_a_repository(tmp_path):
    result = call(build_toolset(tmp_path), "git_status")
    assert result.is_error and "not a git repository" in result.text


def test_finish_without_gate(repo):
    result = call(build_toolset(repo), "finish", summary="Fixed the bug; tests pass.")
    assert not result.is_error and result.finish_summary == "Fixed the bug; tests pass."
    empty = call(build_toolset(repo), "finish", summary="")
    assert empty.is_error and empty.finish_summary is None


def test_finish_with_gate(repo):
    seen = []

    def gate(summary):
        seen.append(summary)
        return None if (repo / "fixed").exists() else "The check still fails: 1 failed."

    tools = build_toolset(repo, finish_gate=gate)
    refused = call(tools, "finish", summary="done")
    assert refused.is_error and refused.finish_summary is None and "1 failed" in refused.text
    (repo / "fixed").write_text("")
    accepted = call(tools, "finish", summary="done now")
    assert accepted.finish_summary == "done now" and seen == ["done", "done now"]


def test_commit_accepts_a_lone_path_string(repo):
    (repo / "a.py").write_text("a\n")
    (repo / "b.py").write_text("b\n")
    assert not call(build_toolset(repo), "git_commit", message="a", paths="a.py").is_error
    assert set(git.Repo(repo).head.commit.stats.files) == {"a.py"}


def test_diff_of_non_utf8_text_is_sendable(repo):
    (repo / "latin.txt").write_bytes(b"caf\xe9\n")
    git.Repo(repo).index.add(["latin.txt"])
    (repo / "latin.txt").write_bytes(b"caf\xe9 cr\xe8me\n")
    text = call(build_toolset(repo), "git_diff").text
    assert "+caf" in text
    text.encode("utf-8")  # no lone surrogates: the loop can put it in a UTF-8 request body


def test_gate_can_end_the_run_with_its_own_reason(repo):
    def gate(summary):
        raise EndRun("check_failed", "the check still fails after 3 attempts")

    with pytest.raises(EndRun) as info:
        call(build_toolset(repo, finish_gate=gate), "finish", summary="done")
    assert info.value.reason == "check_failed" and "3 attempts" in str(info.value)


def test_commit_leaves_the_users_uncommitted_work_alone(repo):
    (repo / "README.md").write_text("the user's edit\n")
    (repo / "staged.py").write_text("staged by the user\n")
    git.Repo(repo).index.add(["staged.py"])
    (repo / "notes.txt").write_text("the user's notes\n")
    tools = build_toolset(repo)
    call(tools, "write_file", path="agent.py", content="x = 1\n")
    result = call(tools, "git_commit", message="agent work")
    assert not result.is_error and "README.md, notes.txt, staged.py" in result.text
    assert set(git.Repo(repo).head.commit.stats.files) == {"agent.py"}
    status = git.Repo(repo).git.status("--porcelain")
    assert "A  staged.py" in status and " M README.md" in status and "?? notes.txt" in status
    assert call(tools, "git_commit", message="again").text.startswith("Error: nothing to commit")
    call(tools, "edit_file", path="README.md", old_string="the user's edit", new_string="both edits")
    assert not call(tools, "git_commit", message="edited", paths=None).is_error
    assert set(git.Repo(repo).head.commit.stats.files) == {"README.md"}
