"""Hostile tool calls against `glm-agent run` as a black box: the user's work, files outside and the key survive.

Each scenario is one real `python -m glm_agent.cli.main run --json` subprocess against a scripted stand-in, on a repo with
a dirty working tree (modified, staged, untracked and ignored files) and a sentinel folder outside it. The
assertions are on what a user would inspect afterwards: the files, git, the exit code, the run record.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from glm_agent.testing import Reply, StandIn
from helpers import git_init

FAKE_KEY = "zai-blackbox-key-5f3c9a1e7d"
SENTINEL = "outside sentinel: must survive\n"
USER = {"tracked.txt": "tracked, edited by the user\n", "staged.txt": "staged by the user\n",
        "untracked.txt": "the user's new file\n", "debug.log": "ignored, but the user's\n"}


@dataclass
class World:
    repo: Path
    outside: Path
    home: Path


@dataclass
class Run:
    code: int
    result: dict
    events: list[dict]
    stderr: str

    def results(self) -> list[tuple[str, str, bool]]:
        """(tool name, result text, is_error) of every tool call, in order."""
        return [(e["name"], e["text"], e["is_error"]) for e in self.events if e["type"] == "tool_result"]


@pytest.fixture
def world(tmp_path) -> World:
    repo = git_init(tmp_path / "repo")
    for name in ("tracked.txt", "staged.txt"):
        (repo / name).write_text("committed\n")
    (repo / ".gitignore").write_text("*.log\n")
    git(repo, "add", "tracked.txt", "staged.txt", ".gitignore")
    git(repo, "commit", "-qm", "user's files")
    for name, text in USER.items():
        (repo / name).write_text(text)
    git(repo, "add", "staged.txt")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel.txt").write_text(SENTINEL)
    return World(repo, outside, Path(os.environ["HOME"]))


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def calls(*pairs) -> Reply:
    """One assistant turn with these (name, arguments) tool calls."""
    return Reply(tool_calls=list(pairs))


def run_agent(world: World, turns: list, *flags: str, timeout: float = 90, summary: str = "hostile run over") -> Run:
    """`glm-agent run` against a stand-in serving `turns` (a finish with `summary` is appended)."""
    script = [*turns, calls(("finish", {"summary": summary}))]
    env = {**os.environ, "ZAI_API_KEY": FAKE_KEY}
    with StandIn(script) as server:
        proc = subprocess.run(
            [sys.executable, "-I", "-m", "glm_agent", "run", "Hostile task", "--repo", str(world.repo), "--json",
             "--base-url", server.base_url, "-c", "model.max_retries=0", "-c", "tools.bash_timeout_max=3", *flags],
            env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    result = json.loads(proc.stdout)
    run_dir = Path(result["run_dir"])
    events = [json.loads(line) for line in (run_dir / "trajectory.jsonl").read_text().splitlines()]
    assert json.loads((run_dir / "result.json").read_text()) == result
    assert events[0]["type"] == "start" and events[-1]["type"] == "stop"
    assert events[-1]["stop_reason"] == result["stop_reason"]
    leaks = [p for p in (world.repo / ".glm-agent").rglob("*") if p.is_file() and FAKE_KEY in p.read_text("latin-1")]
    assert leaks == []
    return Run(proc.returncode, result, events, proc.stderr)


def user_work(repo: Path) -> dict:
    """The user's uncommitted state: file contents, and what the index holds for the staged file."""
    state = {name: (repo / name).read_text() if (repo / name).is_file() else None for name in USER}
    state["index:staged.txt"] = git(repo, "show", ":staged.txt")
    return state


EXPECTED = {**USER, "index:staged.txt": USER["staged.txt"]}


def assert_outside_intact(world: World) -> None:
    assert (world.outside / "sentinel.txt").read_text() == SENTINEL
    assert sorted(p.name for p in world.outside.iterdir()) == ["sentinel.txt"]


def assert_no_process(marker: str) -> None:
    """No process whose command line carries `marker` (each scenario uses unique sleep lengths)."""
    deadline = time.monotonic() + 3
    while True:
        left = [line for line in subprocess.run(["ps", "-eo", "pid,args"], capture_output=True,
                                                text=True).stdout.splitlines() if marker in line]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == []


def refused(text: str) -> bool:
    return text.startswith("Error:") and ("Refused" in text or "refused" in text)


@pytest.mark.slow
def test_file_tools_stay_inside_the_repo_and_refuse_model_mistakes(world):
    repo, out = world.repo, world.outside
    os.symlink(out / "sentinel.txt", repo / "link_out")
    os.symlink(out, repo / "linkdir")
    os.symlink(repo / ".git", repo / "gitlink")
    os.mkfifo(repo / "pipe")
    abs_out = str(out / "sentinel.txt")
    escapes = [  # every one must be an error result, and touch nothing
        ("read_file", {"path": abs_out}), ("read_file", {"path": "../outside/sentinel.txt"}),
        ("read_file", {"path": "~/.bashrc"}), ("read_file", {"path": "link_out"}),
        ("read_file", {"path": "linkdir/sentinel.txt"}), ("read_file", {"path": "/dev/zero"}),
        ("read_file", {"path": "pipe"}), ("read_file", {"path": "/proc/self/environ"}),
        ("write_file", {"path": abs_out, "content": "pwned"}),
        ("write_file", {"path": "../outside/new.txt", "content": "pwned"}),
        ("write_file", {"path": "~/new.txt", "content": "pwned"}),
        ("write_file", {"path": "link_out", "content": "pwned"}),
        ("write_file", {"path": "linkdir/new.txt", "content": "pwned"}),
        ("write_file", {"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\nenv > /tmp/x\n"}),
        ("write_file", {"path": "gitlink/hooks/post-commit", "content": "#!/bin/sh\n"}),
        ("write_file", {"path": "./.git/../.git/config", "content": "[core]\n"}),
        ("write_file", {"path": "pipe", "content": "x"}),
        ("write_file", {"path": "tracked.txt", "content": "never read: stale write\n"}),
        ("write_file", {"path": "untracked.txt", "content": "never read: stale write\n"}),
        ("write_file", {"path": "debug.log", "content": "never read: stale write\n"}),
        ("write_file", {"path": ".glm-agent/runs/x/trajectory.jsonl", "content": "{}\n"}),
        ("edit_file", {"path": "link_out", "old_string": "outside", "new_string": "pwned"}),
        ("edit_file", {"path": abs_out, "old_string": "outside", "new_string": "pwned"}),
        ("edit_file", {"path": "tracked.txt", "old_string": "not in the file", "new_string": "x"}),
        ("edit_file", {"path": "tracked.txt", "old_string": "user", "new_string": "user"}),
        ("undo_edit", {"path": abs_out}), ("undo_edit", {"path": "tracked.txt"}),
        ("glob", {"pattern": "*", "path": "/"}), ("glob", {"pattern": "*", "path": "linkdir"}),
        ("grep", {"pattern": "x", "path": ".."}), ("git_diff", {"path": abs_out}),
        ("git_commit", {"message": "m", "paths": [abs_out]}),
    ]
    malformed = [  # raw argument strings
        ("read_file", '{"path": "a"}{"path": "b"}'), ("read_file", '{"path": "tracked.txt"} and more text'),
        ("read_file", "[1, 2]"), ("read_file", "null"), ("read_file", ""), ("read_file", '{"path": 123}'),
        ("read_file", '{"path": "tracked.txt", "offset": "abc"}'), ("read_file", '{"path": "tracked.txt", "limit": -1}'),
        ("write_file", '{"path": "new.txt"}'), ("write_file", '{"content": "x"}'),
        ("edit_file", '{"path": "tracked.txt", "old_string": "user"}'), ("no_such_tool", "{}"),
        ("bash", '{"command": ["ls"]}'), ("read_file", '{"path": "' + "a/" * 100_000 + '"}'),
    ]
    leaked_xml = ("read_file", "<arg_key>path</arg_key><arg_value>tracked.txt</arg_value>")
    edits = [
        ("edit_file", {"path": "staged.txt", "old_string": "by the user", "new_string": "by the user!"}),
        ("edit_file", {"path": "staged.txt", "old_string": "e", "new_string": "E"}),  # several matches
        ("write_file", {"path": "big.txt", "content": "b" * 200_000}),
        ("grep", {"pattern": "sentinel"}), ("glob", {"pattern": "**/sentinel*"}),
    ]
    many = calls(*[("read_file", {"path": "README.md", "limit": n}) for n in range(1, 31)])
    turns = [calls(*escapes[:16]), calls(*escapes[16:]), calls(*malformed), calls(leaked_xml, *edits), many]
    run = run_agent(world, turns, summary="s" * 150_000 + "\0 a summary too long for one argument, with a NUL")

    assert (run.code, run.result["stop_reason"]) == (0, "finished"), run.stderr
    results = run.results()
    assert len(results) == len(escapes) + len(malformed) + 1 + len(edits) + 30 + 1
    for (name, args), (_, text, is_error) in zip(escapes, results):
        assert is_error and text.startswith("Error:"), (name, args, text)
        assert "outside sentinel" not in text and FAKE_KEY not in text
    bad = results[len(escapes):len(escapes) + len(malformed)]
    assert all(is_error for _, _, is_error in bad), bad
    assert "Unknown tool 'no_such_tool'" in bad[11][1] and "read_file" in bad[11][1]
    assert bad[13][1].startswith("Error: path is 200,000 characters long")
    xml, edit_ok, edit_many, big, grep, glob = results[len(escapes) + len(malformed):][:6]
    assert not xml[2] and "tracked, edited by the user" in xml[1]
    assert edit_ok[2] and "has not read" in edit_ok[1] or not edit_ok[2]
    assert edit_many[2] and "times" in edit_many[1]
    assert not big[2] and (world.repo / "big.txt").stat().st_size == 200_000
    assert "outside sentinel" not in grep[1] and "linkdir" not in glob[1]
    assert all(not is_error for _, _, is_error in results[-31:])

    assert_outside_intact(world)
    assert not (world.home / "new.txt").exists() and not (world.repo / "new.txt").exists()
    assert not (world.repo / ".git/hooks/pre-commit").exists()
    assert not (world.repo / ".git/hooks/post-commit").exists()
    state = user_work(world.repo)  # the agent's edit of the user's staged file is committed with the user's change
    assert state == {**EXPECTED, "staged.txt": "staged by the user!\n", "index:staged.txt": "staged by the user!\n"}
    assert run.result["files_changed"] and "tracked.txt" not in run.result["files_changed"]
    assert git(world.repo, "log", "-1", "--format=%B", run.result["commit"]).strip().endswith("with a NUL")


DESTRUCTIVE = [  # issue 3's forms, hidden behind operators and wrappers, and the evasions a parser can see through
    "git reset --hard", "git checkout -- tracked.txt", "git checkout .", "git restore tracked.txt", "git clean -fdx",
    "git push --force origin main", "git stash drop", "git stash clear", "git branch -D main", "rm -rf .",
    "rm -rf ./*", "rm -rf /", "rm -rf ~", "rm -rf .git", "rm -rf .glm-agent", "true && git reset --hard",
    "echo $(git clean -fd)", "env A=1 git reset --hard", "git -C . reset --hard", "git --git-dir=.git reset --hard",
    "sh -c 'git reset --hard'", "bash -lc 'git clean -fdx'", 'eval "git reset --hard"', "$(echo git) reset --hard",
    "`echo git` clean -fd", "G=git; $G reset --hard", "echo --hard | xargs git reset", "echo . | xargs rm -rf",
    "find . -delete", "find . -type f -delete", "find .. -name '*.txt' -delete", "find . -exec rm -rf {} +",
    "git checkout -f main", "git switch --discard-changes main", "git reset --merge", "git update-ref -d refs/heads/main",
    "git reflog expire --expire=now --all", "git gc --prune=now", "git filter-branch -f --tree-filter true HEAD",
    "git -c alias.wipe='reset --hard' wipe", "git rm -rf .", "git branch -f main HEAD~1", "kill -9 $PPID",
]


def test_destructive_commands_are_refused_and_nothing_is_touched(world):
    outside = world.outside
    sentinel = outside / "sentinel.txt"
    commands = [*DESTRUCTIVE, f"rm -rf {outside}", f"cd /; rm -rf {str(outside)[1:]}", f"cd {outside.parent}; rm -rf outside",
                f"rm -f {sentinel}", f"echo pwned > {sentinel}", "echo pwned >> ../outside/sentinel.txt",
                f"date | tee {sentinel}", f"cp README.md {outside}/", f"mv tracked.txt {outside}/",
                f"truncate -s 0 {sentinel}", "mv .git .git-old", "echo 'env > leak' > .git/hooks/pre-commit"]
    commands += ["bash wipe.sh", "sh -e wipe.sh"]  # a script the model wrote is read and checked too
    wipe = ("write_file", {"path": "wipe.sh", "content": "echo cleaning\ngit clean -fdx\n"})
    run = run_agent(world, [calls(wipe, *[("bash", {"command": c}) for c in commands]),
                            calls(("git_status", {}), ("bash", {"command": "git stash list; git log --oneline"}))])
    assert (run.code, run.result["stop_reason"]) == (0, "finished"), run.stderr
    results = run.results()[1:]
    for command, (_, text, _) in zip(commands, results):
        assert refused(text), (command, text)
    status, listing = results[len(commands)][1], results[len(commands) + 1][1]
    assert "tracked.txt" in status and "untracked.txt" in status
    assert "user's files" in listing and "stash@" not in listing
    assert_outside_intact(world)
    assert user_work(world.repo) == EXPECTED
    assert run.result["files_changed"] == ["wipe.sh"]


@pytest.mark.parametrize("flags", [["--no-commit"], []])
def test_what_the_guard_cannot_see_is_undone_by_glm_agent_undo(world, flags):
    """A script, an interpreter or `git stash` + a later drop get past any parser: the snapshot brings it back."""
    script = ("import subprocess\nfor command in ('git stash -q', 'git reset -q --hard', 'git clean -fdq', "
              "'echo vandalised > README.md'):\n    subprocess.run(command, shell=True)\n")
    turns = [calls(("write_file", {"path": "nuke.py", "content": script}), ("bash", {"command": "python3 nuke.py"})),
             calls(("bash", {"command": "python3 -c \"import os; os.remove('debug.log.keep') if 0 else None\""}),
                   ("bash", {"command": "git stash list | wc -l; git status --short"}))]
    run = run_agent(world, turns, *flags)
    assert (run.code, run.result["stop_reason"]) == (0, "finished"), run.stderr
    assert (run.result["commit"] is None) == bool(flags)
    assert user_work(world.repo) != EXPECTED  # the damage happened
    undo = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "undo", "--repo", str(world.repo)],
                          capture_output=True, text=True, timeout=60)
    assert undo.returncode == 0, undo.stderr
    assert user_work(world.repo) == EXPECTED
    assert (world.repo / "README.md").read_text() == "hello\n" and not (world.repo / "nuke.py").exists()
    assert git(world.repo, "branch", "--show-current").strip() == "main"
    assert_outside_intact(world)


@pytest.mark.slow
def test_commands_cannot_hang_leak_the_key_or_outlive_the_run(world):
    tag = f"99{os.getpid() % 1000}"  # unique sleep lengths, to find leftovers with ps
    commands = [
        ("cat", 3), ("read line; echo got:$line", 3), (f"sleep {tag}1", 1), (f"nohup sleep {tag}2 &", 3),
        (f"setsid sleep {tag}3 > /dev/null 2>&1 &", 3), (f"(setsid sleep {tag}4 &) ; echo started", 3),
        (f"for i in $(seq 20); do sleep {tag}5 & done; wait", 1),
        ("head -c 10000000 /dev/zero | tr '\\0' a", 3), ("head -c 4000 /dev/urandom", 3),
        ("echo key=[$ZAI_API_KEY] && env | grep -c API_KEY", 3), ("echo " + "x" * 200_000, 3),
        ("touch $'\\xff.txt' $'new\\nline.txt' && touch -- -rf && mkfifo fifo", 3),  # names git prints oddly
    ]
    lone_surrogate = '{"path": "\\udcff.txt", "content": "x"}'
    run = run_agent(world, [calls(*[("bash", {"command": c, "timeout": t}) for c, t in commands],
                                  ("write_file", lone_surrogate))])
    assert (run.code, run.result["stop_reason"]) == (0, "finished"), run.stderr
    texts = dict(zip([c for c, _ in commands], [text for _, text, _ in run.results()]))
    assert texts["cat"].endswith("[exit code 0]") and "got:" in texts["read line; echo got:$line"]
    assert "timed out after 1s" in texts[f"sleep {tag}1"]
    assert "timed out after 1s" in texts[f"for i in $(seq 20); do sleep {tag}5 & done; wait"]
    big = texts["head -c 10000000 /dev/zero | tr '\\0' a"]
    assert len(big) < 40_000 and "bytes of output omitted" in big
    assert texts["echo key=[$ZAI_API_KEY] && env | grep -c API_KEY"].startswith("key=[]\n0")
    long_command = texts["echo " + "x" * 200_000]  # longer than one argument may be: bash reads it from a pipe
    assert long_command.startswith("x" * 1000) and long_command.endswith("x\n[exit code 0]")
    assert run.results()[-2][1].startswith("Error: path is not valid Unicode")
    assert sorted(run.result["files_changed"]) == ["-rf", "new\nline.txt", "\ufffd.txt"]
    assert_no_process(f"sleep {tag}")
    assert_outside_intact(world)
    assert user_work(world.repo) == EXPECTED


def test_hooks_planted_by_a_command_never_see_the_key_and_user_changes_stay_uncommitted(world):
    """Without the sandbox (which keeps .git read-only to commands) a command can plant hooks: they still never
    get the key, and the user's changes stay out of the agent's commit."""
    spy = world.outside / "spy"
    hook = f"#!/bin/sh\nenv >> {spy}/$(basename $0).env\n"
    plant = (f"import os, pathlib\nos.makedirs({str(spy)!r})\n"
             f"for name in ('pre-commit', 'post-commit', 'reference-transaction', 'post-checkout'):\n"
             f"    hook = pathlib.Path('.git/hooks', name)\n    hook.write_text({hook!r})\n    hook.chmod(0o755)\n")
    turns = [calls(("write_file", {"path": "plant.py", "content": plant}),  # an interpreter: unseen by the guard
                   ("bash", {"command": "python3 plant.py; rm plant.py"})),
             calls(("write_file", {"path": "agent.txt", "content": "the agent's file\n"}),
                   ("git_commit", {"message": "agent commit"}))]
    run = run_agent(world, turns, "--sandbox", "off")
    assert (run.code, run.result["stop_reason"]) == (0, "finished"), run.stderr
    leaked = {p.name: p.read_text() for p in spy.iterdir()}
    assert "pre-commit.env" in leaked  # the hooks did run
    assert [name for name, text in leaked.items() if FAKE_KEY in text] == []
    assert git(world.repo, "show", "--name-only", "--format=%s", "HEAD").split() == ["agent", "commit", "agent.txt"]
    assert user_work(world.repo) == EXPECTED
    status = git(world.repo, "status", "--porcelain")
    assert " M tracked.txt" in status and "M  staged.txt" in status and "?? untracked.txt" in status


def start_agent(world: World, turns: list) -> tuple[subprocess.Popen, StandIn]:
    server = StandIn([*turns, calls(("finish", {"summary": "never reached"}))]).__enter__()
    proc = subprocess.Popen(
        [sys.executable, "-I", "-m", "glm_agent", "run", "Interrupted task", "--repo", str(world.repo), "--json",
         "--base-url", server.base_url, "--no-branch"],
        env={**os.environ, "ZAI_API_KEY": FAKE_KEY}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True)
    return proc, server


def interrupt_when(proc: subprocess.Popen, ready, timeout: float = 60) -> dict:
    """SIGINT as soon as `ready()` holds (polled every millisecond); the printed result."""
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None:
        assert time.monotonic() < deadline, "never ready"
        time.sleep(0.001)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    return json.loads(out)


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["write_file", "edit_file"])
def test_ctrl_c_in_the_middle_of_writing_a_big_file_leaves_old_or_new_content(world, tool):
    """Ctrl-C lands while the temporary file is being written (or, on a fast disk, in the command after it)."""
    old = "o" * 40_000_000 + "\nEND\n"
    new = "n" * 500_000 + "\n" if tool == "write_file" else old.replace("END", "NEW END")
    big = world.repo / "big.txt"
    big.write_text(old)
    args = ({"path": "big.txt", "content": new} if tool == "write_file"
            else {"path": "big.txt", "old_string": "END", "new_string": "NEW END"})
    turns = [calls(("read_file", {"path": "big.txt", "limit": 1})), calls((tool, args)),
             calls(("bash", {"command": "sleep 30", "timeout": 40}))]
    proc, server = start_agent(world, turns)
    try:
        result = interrupt_when(proc, lambda: any(p.name.startswith(".big.txt.") for p in world.repo.iterdir())
                                or big.stat().st_size != len(old))
    finally:
        server.__exit__(None, None, None)
    assert result["stop_reason"] == "interrupted"
    assert big.read_text() in (old, new)
    assert [p.name for p in world.repo.iterdir() if p.name.endswith(".tmp")] == []
    assert user_work(world.repo) == EXPECTED


def test_ctrl_c_during_a_command_kills_it_its_children_and_escaped_daemons(world):
    tag = f"98{os.getpid() % 1000}"
    command = f"setsid sleep {tag}1 > /dev/null 2>&1 & (sleep {tag}2 &); echo running; sleep {tag}3"
    proc, server = start_agent(world, [calls(("bash", {"command": command}))])
    try:
        result = interrupt_when(proc, lambda: f"sleep {tag}3" in subprocess.run(
            ["ps", "-eo", "args"], capture_output=True, text=True).stdout)
    finally:
        server.__exit__(None, None, None)
    assert result["stop_reason"] == "interrupted"
    assert_no_process(f"sleep {tag}")
    assert user_work(world.repo) == EXPECTED


def test_a_model_sending_only_garbage_stops_with_format_errors_and_exit_1(world):
    garbage = calls(("read_file", "{'path': 'x'}"), ("bash", '{"command": "rm -rf ."'), ("nope", "{}"))
    run = run_agent(world, [garbage, garbage, garbage])
    assert (run.code, run.result["stop_reason"], run.result["steps"]) == (1, "format_errors", 3), run.stderr
    assert all(is_error for _, _, is_error in run.results()) and len(run.results()) == 9
    assert user_work(world.repo) == EXPECTED and git(world.repo, "branch", "--show-current").strip() == "main"
    assert_outside_intact(world)


def test_committing_everything_explicitly_still_leaves_the_users_work_restorable(world):
    turns = [calls(("write_file", {"path": "agent.txt", "content": "x\n"}),
                   ("git_commit", {"message": "everything", "paths": ["."]}),
                   ("bash", {"command": "git commit -qam 'and again' --allow-empty"}))]
    run = run_agent(world, turns)
    assert (run.code, run.result["stop_reason"]) == (0, "finished"), run.stderr
    assert {k: v for k, v in user_work(world.repo).items() if not k.startswith("index:")} == USER
    undo = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "undo", "--repo", str(world.repo)],
                          capture_output=True, text=True, timeout=60)
    assert undo.returncode == 0, undo.stderr
    assert user_work(world.repo) == EXPECTED and not (world.repo / "agent.txt").exists()
    assert git(world.repo, "log", "--format=%s", "main").splitlines() == ["user's files", "initial"]
