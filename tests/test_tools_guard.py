"""Destructive command detection: every refused form, also hidden behind operators and wrappers, and look-alikes."""
from __future__ import annotations

import json
import os
import sys

import pytest
from glm_agent.tools import build_toolset
from glm_agent.tools.guard.command import check_command

REFUSED = [
    "git reset --hard",
    "$(echo git) reset --hard", "`echo git` clean -fd", "G=git; $G reset --hard", '"$G" clean -fdx',
    "echo --hard | xargs git reset", "echo .git | xargs rm -rf", "find . -delete", "find . -type f -delete",
    "find .. -name '*.txt' -delete", "find . -exec rm -rf {} +", "find . -name 'HEA?' -delete",
    "git filter-branch -f --tree-filter true HEAD", "git -c alias.wipe='reset --hard' wipe", "git rm -rf .",
    "git branch -f main HEAD~1", "git read-tree -u --reset HEAD", "git checkout-index -f -a",
    "rm -rf .glm-agent", "rm -f /tmp/scratch.log", "rm ../sibling.txt", "mv .git .git-old", "mv src /tmp/",
    "echo x > /tmp/out.txt", "echo x >> ../sibling.txt", "cmd | tee /tmp/log", "cp a.txt /tmp/", "touch ~/x",
    "dd if=/dev/zero of=../disk", "echo '#!/bin/sh' > .git/hooks/pre-commit", "cd /tmp && echo x > y",
    "truncate -s 0 ../sibling.txt",
    "git reset --hard HEAD~1",
    "git reset --merge",
    "git checkout -- src/app.py",
    "git checkout HEAD -- .",
    "git checkout .",
    "git checkout -f main",
    "git checkout README.md",
    "git restore README.md",
    "git restore .",
    "git restore --staged --worktree README.md",
    "git restore -W README.md",
    "git clean -f",
    "git clean -fd",
    "git clean -xdf",
    "git clean --force",
    "git push --force",
    "git push -f origin main",
    "git push --force-with-lease origin main",
    "git push origin +main",
    "git push origin --delete main",
    "git stash drop",
    "git stash clear",
    "git branch -D feature",
    "git branch --delete --force feature",
    "git switch --discard-changes main",
    "git -C . reset --hard",
    "git -c core.pager=cat reset --hard",
    "/usr/bin/git reset --hard",
    "rm -rf .",
    "rm -r ./",
    "rm -rf /",
    "rm -rf /tmp/somewhere",
    "rm -rf ..",
    "rm -rf ../sibling",
    "rm -r -f *",
    "rm -rf .git",
    "rm -rf .git/objects",
    "rm -fr ~/",
    "rm -rf $HOME/x",
    "rm --recursive /etc",
    "rm -R /opt/x",
    "cd /tmp && rm -rf build",
    "cd .. && rm -rf repo",
    "git update-ref -d refs/glm-agent/run1/start",
    "git for-each-ref --format='%(refname)' refs/glm-agent | xargs -n1 git update-ref -d",
    "git reflog expire --expire=now --all",
    "git gc --prune=now",
]

HIDDEN = [
    "make && git reset --hard",
    "false || git reset --hard",
    "ls; git clean -fdx",
    "ls | git reset --hard",
    "echo $(git reset --hard)",
    'echo "$(git stash drop)"',
    "echo `git checkout -- .`",
    "(git reset --hard)",
    "{ git reset --hard; }",
    "env GIT_DIR=.git git reset --hard",
    "FOO=1 git reset --hard",
    "sudo git clean -fd",
    "sudo -u root git reset --hard",
    "command git reset --hard",
    "nohup git push --force &",
    "timeout 5 git reset --hard",
    "nice -n 10 git reset --hard",
    "echo README.md | xargs git checkout --",
    "xargs -I{} git branch -D {}",
    "bash -c 'git reset --hard'",
    'sh -c "cd / && rm -rf tmp"',
    "bash -lc 'echo hi; git clean -f'",
    "eval git reset --hard",
    "find / -name x -exec rm -rf {} \\;",
    "ls\ngit reset --hard",
    "echo ok # comment\ngit reset --hard",
    "if true; then git reset --hard; fi",
    "git status && sudo env X=1 bash -c \"git stash clear\"",
    "diff <(git reset --hard) x",
    "cat <<EOF\ndon't stop\nEOF\ngit reset --hard",
    "bash <<'EOF'\ngit clean -fd\nEOF",
    # issue 13: long options abbreviated as git accepts them, shells fed on stdin, multi-call binaries
    "git reset --har", "git reset --h HEAD", "git checkout --fo main", "git switch --disc main",
    "git clean --dry-run --no-dry-run -f", "git push --force-w origin main", "git push --del origin main",
    "git gc --pru=now", "git branch --del --forc main", "git restore --wor README.md",
    "echo 'git reset --hard' | bash", "echo git clean -fdx | sh", "bash <<< 'git reset --hard'",
    "bash<<<\"rm -rf .\"", "printf 'git reset --hard\\n' | sh", "printf '%s\\n' 'git clean -fdx' | bash -s",
    "echo -e 'ls\\ngit stash clear' | dash", "busybox rm -rf .", "toybox rm -rf .git", "/bin/busybox sh -c 'rm -rf .'",
    "busybox timeout 5 git reset --hard",
]

ALLOWED = [
    "git reset --soft HEAD~1",
    "echo x > out.txt 2>&1", "cmd >/dev/null 2>&1", "cmd 2>&1 | tee build.log", "cp -r src backup",
    "mv old.py new.py", "f=$(mktemp) && echo x > $f", "git rm -r --cached build", "git reset --keep HEAD~1",
    "find src -name '*.tmp' -exec rm -rf {} +",
    "git reset HEAD README.md",
    "git reset",
    "git checkout -b feature",
    "git checkout main",
    "git switch -c feature",
    "git restore --staged README.md",
    "git restore -S README.md",
    "git clean -n",
    "git clean -nd",
    "git push origin main",
    "git push -u origin feature",
    "git stash",
    "git stash pop",
    "git branch -d merged",
    "git gc",
    "git reflog",
    "git update-ref refs/heads/x HEAD",
    "git status; git diff",
    "rm -r build/",
    "rm -rf build dist *.egg-info",
    "rm -rf src/__pycache__",
    "rm file.txt",
    "mkdir -p build && cd build && rm -rf out",
    'echo "git reset --hard"',
    "echo 'rm -rf /'",
    "grep -r 'git clean -f' docs",
    "# git reset --hard",
    "printf '%s' \"git push --force\"",
    "ls > out.txt 2>&1",
    "python -m pytest -x -q",
    "find . -name '*.pyc' -delete",
    "find . -name '*.pyc' -exec rm -f {} +",
    "cat > notes.md <<'EOF'\nit's fine to mention rm in prose\nEOF\necho written",
    "git reset --so HEAD~1", "git restore --stag README.md", "git clean --dry -f", "git push --verb origin main",
    "echo 'ls -la' | bash", "bash <<< 'make test'", "grep x <<< 'rm -rf .'", "printf 'rm -rf .' | cat",
    "busybox ls -la", "busybox rm -rf build",
]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A checkout-shaped folder (the guard only looks at paths; git itself is exercised below)."""
    root = tmp_path_factory.mktemp("guard") / "repo"
    for folder in (".git", "src", "build"):
        (root / folder).mkdir(parents=True)
    (root / "README.md").write_text("hello\n")
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


@pytest.mark.parametrize("command", REFUSED + HIDDEN)
def test_destructive_commands_are_refused(root, command):
    message = check_command(command, root)
    assert message and message.startswith("Refused (not run):"), command


@pytest.mark.parametrize("command", ALLOWED)
def test_harmless_look_alikes_are_allowed(root, command):
    assert check_command(command, root) is None


@pytest.mark.parametrize("command, advice", [
    ("git reset --hard", "undo_edit"),
    ("git checkout -- README.md", "git diff"),
    ("git restore README.md", "--staged"),
    ("git clean -fd", "git clean -n"),
    ("git push --force", "Push normally"),
    ("git stash drop", "Leave existing stashes"),
    ("git branch -D x", "git branch -d"),
    ("rm -rf /tmp/x", "inside the repository"),
])
def test_refusals_explain_what_to_do_instead(root, command, advice):
    assert advice in check_command(command, root)


def test_refusal_through_the_tool_leaves_work_intact(repo):
    (repo / "README.md").write_text("uncommitted user work\n")
    (repo / "notes.txt").write_text("untracked user work\n")
    tools = build_toolset(repo)
    for command in ("git status && git checkout -- README.md", "env git clean -fdx", "echo $(git reset --hard)"):
        result = tools.dispatch("bash", json.dumps({"command": command}))
        assert result.is_error and "Refused" in result.text
    assert (repo / "README.md").read_text() == "uncommitted user work\n"
    assert (repo / "notes.txt").exists()


def test_allowed_git_commands_actually_run(repo):
    tools = build_toolset(repo)
    result = tools.dispatch("bash", json.dumps({"command": "git checkout -q -b work && git branch --show-current"}))
    assert not result.is_error and "work" in result.text


def test_shell_scripts_in_the_repository_are_read_and_checked(root):
    (root / "wipe.sh").write_text("echo cleaning\ngit clean -fdx\n")
    (root / "build.sh").write_text("#!/usr/bin/env bash\nrm -rf build\n")
    (root / "tool.py").write_text("#!/usr/bin/env python3\n# git reset --hard\n")
    for command in ("bash wipe.sh", "sh -e wipe.sh", "./wipe.sh", "cd src && bash ../wipe.sh"):
        assert check_command(command, root), command
    for command in ("bash build.sh", "./build.sh", "./tool.py", "bash missing.sh"):
        assert check_command(command, root) is None, command


@pytest.mark.parametrize("command", ["kill -9 $PPID", "kill -s KILL ${{PPID}}", "kill -9 -1", "kill -- -1",
                                     "pkill -u root", "killall -u root", "pkill -9 -f {cmdline}", "kill {pid}"])
def test_kills_of_the_agent_itself_or_of_everything_are_refused(root, command):
    cmdline = os.path.basename(sys.executable)
    assert check_command(command.format(cmdline=cmdline, pid=os.getpid()), root)


@pytest.mark.parametrize("command", ["kill 12345", "kill -HUP 12345", "kill -1 12345", "kill %1",
                                     "pkill -f 'http.server 8000'", "killall no-such-program"])
def test_kills_of_other_processes_are_allowed(root, command):
    assert check_command(command, root) is None
