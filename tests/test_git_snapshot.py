"""RunSnapshot on real temporary repos: the user's uncommitted work survives, only the agent's changes are committed."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from glm_agent.git.snapshot import GitSafetyError, RunSnapshot
from glm_agent.jobs.undo import undo
from helpers import git_out as git
from helpers import make_user_mess


def show(repo: Path, rev_path: str) -> str:
    return git(repo, "show", rev_path)


def test_dirty_tree_survives_and_only_agent_changes_are_committed(repo):
    user = make_user_mess(repo)
    main_before = git(repo, "rev-parse", "main").strip()
    guard = RunSnapshot.begin(repo, "run-1", branch="glm-agent/fix-thing")

    assert git(repo, "branch", "--show-current").strip() == "glm-agent/fix-thing"
    for name, text in user.items():  # switching branch carried the user's work along untouched
        assert (repo / name).read_text() == text
    # the agent's work: a new file and an edit of a clean tracked file
    (repo / "new_module.py").write_text("print('agent')\n")
    (repo / "lib.py").write_text((repo / "lib.py").read_text().replace("line 3\n", "line three\n"))
    (repo / ".glm-agent" / "runs").mkdir(parents=True)
    (repo / ".glm-agent" / "runs" / "result.json").write_text("{}")

    outcome = guard.end("Fix the thing", commit=True)

    assert outcome.branch == "glm-agent/fix-thing"
    assert outcome.files_changed == ["lib.py", "new_module.py"]
    assert outcome.user_changes_included == []
    committed = git(repo, "show", "--name-only", "--format=%s", outcome.commit).split()
    assert committed == ["Fix", "the", "thing", "lib.py", "new_module.py"]
    assert git(repo, "rev-parse", "main").strip() == main_before
    for name, text in user.items():
        assert (repo / name).read_text() == text
    # the user's changes are still uncommitted, and still staged where they were staged
    status = git(repo, "status", "--porcelain").splitlines()
    assert sorted(status) == [" M README.md", "?? notes/", "A  staged.txt"]
    assert "line three" in show(repo, f"{outcome.commit}:lib.py")


def test_agent_edit_next_to_user_edit_in_same_file_is_separated(repo):
    make_user_mess(repo)
    git(repo, "reset", "-q")
    (repo / "lib.py").write_text((repo / "lib.py").read_text().replace("line 2\n", "line 2 (user)\n"))
    guard = RunSnapshot.begin(repo, "run-2", branch="work")
    (repo / "lib.py").write_text((repo / "lib.py").read_text().replace("line 18\n", "line 18 (agent)\n"))

    outcome = guard.end("agent edit", commit=True)

    committed = show(repo, f"{outcome.commit}:lib.py")
    assert "line 18 (agent)" in committed and "(user)" not in committed
    assert outcome.user_changes_included == []
    assert "line 2 (user)" in (repo / "lib.py").read_text()
    assert "+line 2 (user)" in git(repo, "diff", "HEAD", "--", "lib.py")


def test_inseparable_edit_commits_the_file_whole_and_says_so(repo):
    make_user_mess(repo)
    guard = RunSnapshot.begin(repo, "run-3", branch="work")
    # the agent rewrites the very line the user had changed
    (repo / "README.md").write_text("hello\nuser edit, polished by agent\n")

    outcome = guard.end("agent edit", commit=True)

    assert outcome.user_changes_included == ["README.md"]
    assert show(repo, f"{outcome.commit}:README.md") == "hello\nuser edit, polished by agent\n"


def test_untracked_user_file_and_ignored_files_are_never_committed(repo):
    (repo / ".gitignore").write_text("*.log\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore logs")
    (repo / "scratch.txt").write_text("user scratch\n")
    guard = RunSnapshot.begin(repo, "run-4", branch="work")
    (repo / "build.log").write_text("noise\n")
    (repo / "fix.py").write_text("x = 1\n")

    outcome = guard.end("fix", commit=True)

    files = git(repo, "ls-tree", "-r", "--name-only", outcome.commit).split()
    assert sorted(files) == [".gitignore", "README.md", "fix.py"]
    assert (repo / "scratch.txt").read_text() == "user scratch\n"
    assert ".glm-agent/" in (repo / ".git" / "info" / "exclude").read_text().splitlines()


def test_start_snapshot_holds_untracked_and_staged_state_without_touching_index(repo):
    make_user_mess(repo)
    index_before = (repo / ".git" / "index").read_bytes()
    RunSnapshot.begin(repo, "run-5", branch=None)

    assert (repo / ".git" / "index").read_bytes() == index_before
    assert show(repo, "refs/glm-agent/run-5/worktree:notes/untracked.txt") == "user notes\n"
    assert show(repo, "refs/glm-agent/run-5/worktree:README.md") == "hello\nuser edit\n"
    assert show(repo, "refs/glm-agent/run-5/index:staged.txt") == "staged by user\n"
    assert git(repo, "cat-file", "-e", "refs/glm-agent/run-5/index:notes/untracked.txt", check=False) == ""
    assert git(repo, "rev-parse", "refs/glm-agent/run-5/head") == git(repo, "rev-parse", "main")
    assert git(repo, "branch", "--show-current").strip() == "main"


def test_no_commit_leaves_changes_in_working_tree(repo):
    guard = RunSnapshot.begin(repo, "run-6", branch="work")
    (repo / "fix.py").write_text("x = 1\n")
    outcome = guard.end("fix", commit=False)
    assert outcome.commit is None and outcome.files_changed == ["fix.py"]
    assert git(repo, "status", "--porcelain").strip() == "?? fix.py"


def test_nothing_changed_means_no_commit_and_no_leftover_branch(repo):
    (repo / "README.md").write_text("the user's edit\n")
    (repo / "new.txt").write_text("untracked\n")
    git(repo, "add", "new.txt")
    guard = RunSnapshot.begin(repo, "run-7", branch="work")
    outcome = guard.end("nothing", commit=True)
    assert outcome.commit is None and outcome.files_changed == [] and outcome.branch == "main"
    assert git(repo, "branch", "--show-current").strip() == "main" and "work" not in git(repo, "branch")
    assert git(repo, "status", "--porcelain").splitlines() == [" M README.md", "A  new.txt"]
    assert undo(repo, "run-7").startswith("Undid run run-7.")
    assert (repo / "README.md").read_text() == "the user's edit\n"


def test_nothing_changed_on_a_detached_head_leaves_it_detached_and_no_branch(repo):
    """A batch worktree starts detached: an interrupted or empty run there must not leave its branch behind."""
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "-q", "--detach")
    (repo / "wip.txt").write_text("untracked\n")
    guard = RunSnapshot.begin(repo, "run-8", branch="glm-agent/batch-x")
    outcome = guard.end("Stopped: interrupted", commit=False)
    assert outcome.commit is None and outcome.branch is None
    assert git(repo, "branch", "--show-current").strip() == "" and git(repo, "rev-parse", "HEAD").strip() == head
    assert "glm-agent/batch-x" not in git(repo, "branch") and (repo / "wip.txt").exists()
    assert undo(repo, "run-8").startswith("Undid run run-8.")
    assert git(repo, "rev-parse", "HEAD").strip() == head and (repo / "wip.txt").read_text() == "untracked\n"


def test_identity_fallback_without_writing_user_config(tmp_path):
    bare = tmp_path / "noid"
    bare.mkdir()
    git(bare, "init", "-q", "-b", "main")
    config_before = (bare / ".git" / "config").read_text()
    guard = RunSnapshot.begin(bare, "run-8", branch="work")  # unborn branch, no identity anywhere
    (bare / "a.txt").write_text("a\n")
    outcome = guard.end("first", commit=True)

    assert git(bare, "log", "-1", "--format=%an <%ae>", outcome.commit).strip() == "glm-agent <glm-agent@localhost>"
    assert (bare / ".git" / "config").read_text() == config_before
    assert git(bare, "branch", "--show-current").strip() == "work"
    assert git(bare, "status", "--porcelain").strip() == ""


def test_repo_identity_is_used_when_present(repo):
    guard = RunSnapshot.begin(repo, "run-9", branch="work")
    (repo / "a.txt").write_text("a\n")
    outcome = guard.end("first", commit=True)
    assert git(repo, "log", "-1", "--format=%an", outcome.commit).strip() == "Test User"


def test_not_a_git_repo(tmp_path):
    with pytest.raises(GitSafetyError, match="not inside a git repository"):
        RunSnapshot.begin(tmp_path, "r", branch="work")


def test_existing_branch_is_refused(repo):
    git(repo, "branch", "work")
    with pytest.raises(GitSafetyError, match="already exists"):
        RunSnapshot.begin(repo, "r", branch="work")
    assert git(repo, "branch", "--show-current").strip() == "main"


def test_mid_merge_is_refused(repo):
    git(repo, "switch", "-qc", "other")
    (repo / "README.md").write_text("other\n")
    git(repo, "commit", "-qam", "other")
    git(repo, "switch", "-q", "main")
    (repo / "README.md").write_text("main\n")
    git(repo, "commit", "-qam", "main")
    git(repo, "merge", "other", check=False)  # conflicts, leaves MERGE_HEAD
    with pytest.raises(GitSafetyError, match="middle of a merge"):
        RunSnapshot.begin(repo, "r", branch="work")


def test_run_id_reuse_is_refused(repo):
    RunSnapshot.begin(repo, "same", branch=None)
    with pytest.raises(GitSafetyError, match="already recorded"):
        RunSnapshot.begin(repo, "same", branch=None)


def test_agent_commit_that_swept_in_user_changes_is_corrected(repo):
    make_user_mess(repo)
    guard = RunSnapshot.begin(repo, "run-10", branch="work")
    (repo / "fix.py").write_text("x = 1\n")
    git(repo, "add", "-A")  # a careless `git commit -a`-style commit by the agent itself
    git(repo, "commit", "-qm", "agent commit")

    outcome = guard.end("fix", commit=True)

    files = git(repo, "ls-tree", "-r", "--name-only", outcome.commit).split()
    assert sorted(files) == ["README.md", "fix.py", "lib.py"]
    assert show(repo, f"{outcome.commit}:README.md") == "hello\n"
    assert (repo / "README.md").read_text() == "hello\nuser edit\n"
    assert (repo / "notes" / "untracked.txt").read_text() == "user notes\n"
    assert "README.md" in git(repo, "diff", "--name-only", "HEAD")


def test_staged_user_change_in_a_file_the_agent_also_edited_stays_staged(repo):
    make_user_mess(repo)
    (repo / "lib.py").write_text((repo / "lib.py").read_text().replace("line 1\n", "line 1 (user, staged)\n"))
    git(repo, "add", "lib.py")
    guard = RunSnapshot.begin(repo, "run-11", branch="work")
    (repo / "lib.py").write_text((repo / "lib.py").read_text().replace("line 19\n", "line 19 (agent)\n"))

    outcome = guard.end("agent edit", commit=True)

    assert "(user, staged)" not in show(repo, f"{outcome.commit}:lib.py")
    staged = git(repo, "diff", "--cached", "--", "lib.py")
    assert "+line 1 (user, staged)" in staged and "agent" not in staged
    assert git(repo, "diff", "--", "lib.py") == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files anyway")
def test_unreadable_file_does_not_block_the_run(repo):
    secret = repo / "locked.txt"
    secret.write_text("no access\n")
    secret.chmod(0)
    try:
        guard = RunSnapshot.begin(repo, "run-12", branch="work")
        (repo / "fix.py").write_text("x = 1\n")
        assert guard.end("fix", commit=True).files_changed == ["fix.py"]
    finally:
        secret.chmod(0o644)


def test_non_utf8_file_and_name_with_user_and_agent_edits(repo):
    latin = "caf\xe9.txt".encode("latin-1").decode("utf-8", "surrogateescape")  # a non-UTF-8 file name
    path = repo / latin
    path.write_bytes(b"".join(b"ligne %d \xe9t\xe9\n" % i for i in range(1, 21)))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "latin-1 file")
    path.write_bytes(path.read_bytes().replace(b"ligne 2 ", b"ligne 2 (user) "))
    guard = RunSnapshot.begin(repo, "run-13", branch="work")
    path.write_bytes(path.read_bytes().replace(b"ligne 19 ", b"ligne 19 (agent) "))

    outcome = guard.end("agent edit", commit=True)

    assert outcome.files_changed == ["caf\ufffd.txt"] and outcome.user_changes_included == []  # shown as JSON-safe text
    committed = subprocess.run(["git", "cat-file", "blob", f"{outcome.commit}:{latin}"], cwd=repo,
                               capture_output=True, check=True).stdout
    assert b"ligne 19 (agent) \xe9t\xe9" in committed and b"(user)" not in committed
    assert b"ligne 2 (user)" in path.read_bytes()


def test_start_snapshot_ignores_status_config_that_hides_work(repo):
    """begin reads HEAD, branch and dirty paths from one `git status`: user config hiding untracked files or
    submodule changes must not make a dirty tree look clean (the clean-tree shortcut would lose the file)."""
    git(repo, "config", "status.showUntrackedFiles", "no")
    (repo / "new_notes.txt").write_text("user's untracked work\n")
    guard = RunSnapshot.begin(repo, "hidden-untracked", branch=None)
    assert "new_notes.txt" in guard.user_changes
    assert show(repo, "refs/glm-agent/hidden-untracked/worktree:new_notes.txt") == "user's untracked work\n"
    assert "new_notes.txt" not in git(repo, "ls-tree", "-r", "--name-only", "refs/glm-agent/hidden-untracked/index")


def test_clean_start_records_head_for_index_and_worktree(repo):
    head = git(repo, "rev-parse", "HEAD").strip()
    guard = RunSnapshot.begin(repo, "clean-start", branch="work")
    assert guard.user_changes == [] and guard.note["orig_head"] == head
    for name in ("index", "worktree"):
        assert git(repo, "rev-parse", f"refs/glm-agent/clean-start/{name}^{{tree}}") == \
            git(repo, "rev-parse", "HEAD^{tree}")
        assert git(repo, "rev-parse", f"refs/glm-agent/clean-start/{name}^").strip() == head
    assert git(repo, "rev-parse", "refs/glm-agent/clean-start/head").strip() == head
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "work"
