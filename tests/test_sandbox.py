"""The sandbox and the snapshot as guarantees, through `glm-agent run` / `fix` / `undo` as a black box.

Each scenario is a real CLI subprocess against a scripted stand-in, on a repository holding the user's
uncommitted work (binary, CRLF, executable, staged-then-edited, untracked); what is asserted is what a user
would look at afterwards: the bytes of the files and the index, the exit code, stderr, the result JSON.
"""
from __future__ import annotations

import http.server
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from glm_agent.testing import Reply, StandIn
from helpers import NO_EVIDENCE_ARGS, bwrap_works, git, git_init, need

FAKE_KEY = "zai-sandbox-key-8d2f61c0ab"
USER_FILES = {
    "tracked.bin": b"\x00\x01binary\xff\xfe edited by the user\r\n",
    "crlf.txt": b"windows\r\nline endings\r\n",
    "tool.sh": b"#!/bin/sh\necho the user's tool\n",
    "staged.txt": b"staged, then edited again\n",
    "notes/untracked.md": b"# the user's new notes\n\n\xe2\x9c\x93 unicode\n",
}
STAGED = b"the staged version\n"


@dataclass
class Done:
    code: int
    result: dict
    stderr: str
    texts: list[str]


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = git_init(tmp_path / "repo")
    for name in ("tracked.bin", "crlf.txt", "tool.sh", "staged.txt"):
        (repo / name).write_bytes(b"committed\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the user's files")
    for name, data in USER_FILES.items():
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_bytes(data)
    (repo / "tool.sh").chmod(0o755)
    (repo / "staged.txt").write_bytes(STAGED)
    git(repo, "add", "staged.txt", "tool.sh")
    (repo / "staged.txt").write_bytes(USER_FILES["staged.txt"])
    return repo


def user_state(repo: Path) -> dict:
    """Every byte the user has at stake: the files, the executable bit, what the index holds, HEAD."""
    state = {name: (repo / name).read_bytes() if (repo / name).is_file() else None for name in USER_FILES}
    state["tool.sh mode"] = os.stat(repo / "tool.sh").st_mode & 0o777 if (repo / "tool.sh").exists() else None
    state["index"] = git(repo, "ls-files", "-s") if (repo / ".git").exists() else None
    state["head"] = git(repo, "rev-parse", "HEAD") if (repo / ".git").exists() else None
    return state


def calls(*commands: str) -> Reply:
    return Reply(tool_calls=[("bash", {"command": command}) for command in commands])


def run(repo: Path, turns: list, *flags: str, env: dict | None = None, task: str = "Sandboxed task") -> Done:
    script = [*turns, Reply(tool_calls=[("finish", {"summary": "done"})])]
    with StandIn(script) as server:
        proc = subprocess.run(
            [sys.executable, "-I", "-m", "glm_agent", "run", task, "--repo", str(repo), "--json",
             "--base-url", server.base_url, "-c", "model.max_retries=0", *flags],
            env={**os.environ, "ZAI_API_KEY": FAKE_KEY, **(env or {})}, capture_output=True, text=True,
            timeout=120, stdin=subprocess.DEVNULL)
        texts = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"] if server.requests else []
    result = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return Done(proc.returncode, result, proc.stderr, texts)


def undo(repo: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", "-m", "glm_agent", "undo", "--repo", str(repo)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def python(code: str) -> str:
    """A command the guard cannot read: the damage is done by an interpreter."""
    return f"python3 -c {shlex.quote(code)}"


@pytest.fixture
def sandboxed():
    need(bwrap_works(), "bubblewrap (bwrap) able to start a sandbox")


DESTRUCTIVE = [
    "git reset --har", "echo 'git reset --hard' | bash", "bash <<< 'git clean -fdx'", "printf 'git stash -q\\n' | sh",
    "busybox rm -rf .", "git checkout --fo -- .", "rm -rf -- * .[!.]*",
    python("import shutil; shutil.rmtree('.git')"),
    python("import shutil; shutil.rmtree('.git/refs/glm-agent', ignore_errors=True); open('.git/HEAD', 'w')"),
    python("import subprocess as s; [s.run(c, shell=True) for c in ('git stash -q', 'git reset -q --hard', "
           "'git clean -fdxq', 'git update-ref -d HEAD')]"),
    python("import os\nfor f in os.listdir('.'):\n    os.path.isfile(f) and open(f, 'wb').write(b'vandalised')"),
    "find . -path ./.git -prune -o -type f -exec sh -c 'echo gone > \"$1\"' _ {} \\;",
    "chmod -x tool.sh; rm -rf notes; : > crlf.txt",
]


@pytest.mark.parametrize("command", DESTRUCTIVE)
def test_what_a_sandboxed_command_destroys_undo_puts_back_byte_for_byte(repo, sandboxed, command):
    before = user_state(repo)
    done = run(repo, [calls(command)], *NO_EVIDENCE_ARGS)  # the guard refuses some: no command ran
    assert (done.code, done.result["stop_reason"]) == (0, "finished"), done.stderr
    assert done.result["sandbox"]["mode"] == "bwrap" and "SyntaxError" not in done.texts[0]
    assert git(repo, "for-each-ref", "refs/glm-agent/")  # .git was out of the command's reach
    back = undo(repo)
    assert back.returncode == 0, back.stderr
    assert user_state(repo) == before


def test_git_in_a_sandboxed_command_reads_but_cannot_write_and_the_git_tools_still_commit(repo, sandboxed):
    done = run(repo, [calls("git log --oneline | head -1", "git commit -qam 'from bash'; echo rc=$?"),
                      Reply(tool_calls=[("write_file", {"path": "agent.txt", "content": "new\n"}),
                                        ("git_commit", {"message": "agent commit"})])], "--no-branch")
    assert done.code == 0, done.stderr
    assert "the user's files" in done.texts[0]
    assert "Read-only file system" in done.texts[1] and "rc=128" in done.texts[1]
    assert git(repo, "log", "-1", "--format=%s") == "agent commit"


def test_the_network_is_off_unless_the_user_allows_it(repo, sandboxed):
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from the loopback server")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fetch = python(f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{server.server_port}/', "
                   "timeout=5).read().decode())")
    try:
        off = run(repo, [calls(fetch, "curl -sS https://pypi.org/simple/ -o /dev/null")], "--no-branch")
        on = run(repo, [calls(fetch)], "--no-branch", "--network")
    finally:
        server.shutdown()
    assert off.code == 0 and "Connection refused" in off.texts[0] and "hello from" not in off.texts[0]
    assert "--network or sandbox.network = true" in off.texts[0]
    assert off.result["sandbox"] == {"mode": "bwrap", "reason": "auto: bubblewrap works here", "network": False}
    assert "hello from the loopback server" in on.texts[0] and on.result["sandbox"]["network"] is True


@pytest.fixture
def home():
    """A home folder outside /tmp (the sandbox's /tmp is private, which would hide a home there anyway)."""
    path = Path(tempfile.mkdtemp(prefix="glm-agent-home-", dir="/var/tmp"))
    secrets = {".ssh/id_rsa": "-----BEGIN OPENSSH PRIVATE KEY----- ssh-secret", ".aws/credentials": "aws-secret",
               ".netrc": "machine x password netrc-secret", ".config/glm-agent/config.toml": "# config-secret\n",
               ".git-credentials": "https://u:gitcred-secret@x", "private/notes.txt": "extra-secret",
               ".local/state/glm-agent/copies/other-run/blobs/x": "copied-secret"}
    for name, text in secrets.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    tool = path / ".cargo" / "bin" / "hello-tool"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\necho toolchain works\n")
    tool.chmod(0o755)
    yield path
    shutil.rmtree(path)


WRITE_OUTSIDE = python("import os\nfor p in ('~/.cargo/bin/hello-tool', '/usr/evil'):\n    try:\n"
                       "        open(os.path.expanduser(p), 'w')\n    except OSError as e:\n        print(e)")


def test_credentials_are_hidden_by_any_path_and_toolchains_in_home_stay_usable(repo, sandboxed, home, tmp_path):
    (repo / "key-link").symlink_to(home / ".ssh" / "id_rsa")
    scratch = f"glm-agent-scratch-{os.getpid()}"
    commands = ["cat ~/.ssh/id_rsa", "cat $HOME/.ssh/id_rsa", f"cat {home}/.ssh/id_rsa", "cat key-link",
                "ls -a ~/.ssh", "cat ~/.aws/credentials ~/.netrc ~/.git-credentials ~/.config/glm-agent/config.toml",
                "cat ~/private/notes.txt", "ls -R ~/.local/state/glm-agent", "grep -r secret ~ 2>/dev/null; echo searched",
                "~/.cargo/bin/hello-tool", WRITE_OUTSIDE,
                python(f"open('/tmp/{scratch}', 'w').write('private'); print(open('/tmp/{scratch}').read())")]
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    done = run(repo, [calls(*commands)], "--no-branch", "-c", "sandbox.hide=['~/private']", env=env)
    assert done.code == 0, done.stderr
    out = dict(zip(commands, done.texts))
    assert not [c for c, text in out.items() if "secret" in text and c != "grep -r secret ~ 2>/dev/null; echo searched"]
    assert "secret" not in out["grep -r secret ~ 2>/dev/null; echo searched"].replace("grep -r secret", "")
    assert "No such file" in out["cat ~/.ssh/id_rsa"] and "other-run" not in out["ls -R ~/.local/state/glm-agent"]
    assert "toolchain works" in out["~/.cargo/bin/hello-tool"]
    assert out[WRITE_OUTSIDE].count("Read-only file system") == 2
    assert "private" in done.texts[-1]
    assert not Path("/tmp", scratch).exists()  # the command's /tmp was its own
    assert (home / ".ssh" / "id_rsa").read_text().endswith("ssh-secret")


def test_the_check_of_fix_runs_in_the_sandbox(repo, sandboxed, home):
    check = f"test ! -e {home}/.ssh/id_rsa && ! touch .git/probe 2>/dev/null && ! touch /etc/probe 2>/dev/null"
    with StandIn([]) as server:
        proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "fix", "--check", check, "--repo", str(repo),
                               "--json", "--base-url", server.base_url, "--summary-md", str(home / "summary.md")],
                              env={**os.environ, "ZAI_API_KEY": FAKE_KEY, "HOME": str(home)},
                              capture_output=True, text=True, timeout=120)
    result = json.loads(proc.stdout)
    assert (proc.returncode, result["stop_reason"]) == (0, "nothing_to_fix"), proc.stderr
    assert result["sandbox"]["mode"] == "bwrap"
    assert "Sandbox of the check and the commands: `bwrap` (auto: bubblewrap works here), no network" in \
        (home / "summary.md").read_text()


@pytest.fixture
def broken_bwrap(tmp_path) -> dict:
    """PATH with a bwrap that fails the way it does where user namespaces are blocked (Ubuntu 24.04)."""
    folder = tmp_path / "fakebin"
    folder.mkdir()
    fake = folder / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


def test_sandbox_bwrap_without_a_working_bwrap_exits_2_before_touching_anything(repo, broken_bwrap):
    before = user_state(repo)
    done = run(repo, [], "--sandbox", "bwrap", env=broken_bwrap)
    assert done.code == 2 and done.result == {}
    assert "uid map: Permission denied" in done.stderr and "apparmor_restrict_unprivileged_userns" in done.stderr
    assert git(repo, "for-each-ref", "refs/glm-agent/") == "" and git(repo, "branch", "--show-current") == "main"
    assert user_state(repo) == before


def test_auto_without_a_working_bwrap_warns_loudly_records_off_and_keeps_a_copy_outside(repo, broken_bwrap):
    done = run(repo, [calls("echo ran")], "--no-branch", env=broken_bwrap)
    assert done.code == 0, done.stderr
    assert done.result["sandbox"]["mode"] == "off" and "cannot start" in done.result["sandbox"]["reason"]
    assert done.stderr.count("WARNING: sandbox off") == 1 and "uid map" in done.stderr
    start = json.loads((Path(done.result["run_dir"]) / "trajectory.jsonl").read_text().splitlines()[0])
    assert start["sandbox"]["mode"] == "off" and Path(start["outside_copy"]["path"]).is_dir()
    assert "ran" in done.texts[0]


def test_sandbox_off_says_so_once_and_the_summary_line_shows_the_mode(repo):
    script = [Reply(tool_calls=[("finish", {"summary": "done"})])]
    with StandIn(script) as server:
        proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "run", "t", "--repo", str(repo), "--base-url",
                               server.base_url, "--sandbox", "off", "--no-branch", *NO_EVIDENCE_ARGS],
                              env={**os.environ, "ZAI_API_KEY": FAKE_KEY}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("sandbox off") == 1 and "WARNING" not in proc.stderr
    assert "sandbox: off (sandbox.mode = off" in proc.stdout


@pytest.mark.parametrize("damage", [
    python("import shutil; shutil.rmtree('.git')"),
    python("import subprocess as s; s.run(\"git for-each-ref --format='delete %(refname)' refs/glm-agent | "
           "git update-ref --stdin\", shell=True)"),
])
def test_without_the_sandbox_undo_restores_from_the_copy_outside_when_the_refs_are_gone(repo, damage):
    before = user_state(repo)
    wipe = python("import os, shutil; [os.remove(f) for f in ('tracked.bin', 'crlf.txt', 'staged.txt')]; "
                  "shutil.rmtree('notes'); open('tool.sh', 'wb').write(b'x')")
    done = run(repo, [calls(damage, wipe)], "--sandbox", "off")
    assert done.code in (0, 1), done.stderr
    back = undo(repo)
    assert back.returncode == 0, back.stderr
    assert "from the copy kept outside the repository" in back.stdout and "refs in .git are gone" in back.stdout
    after = user_state(repo)
    if (repo / ".git").exists():  # the refs went: the files and the staged versions are back
        assert after == before
    else:  # .git went: the user's files are back byte for byte; there is no index to restage
        assert {k: after[k] for k in USER_FILES} == {k: before[k] for k in USER_FILES}
        assert after["tool.sh mode"] == before["tool.sh mode"] and "no git repository here" in back.stdout


def test_above_the_bound_no_copy_is_made_and_the_run_says_so(repo):
    done = run(repo, [], "--sandbox", "off", "--no-branch", "-c", "sandbox.copy_max_mb=0.00001", *NO_EVIDENCE_ARGS)
    assert done.code == 0, done.stderr
    assert "more than sandbox.copy_max_mb" in done.stderr and "undo relies on the refs in .git alone" in done.stderr
    state = Path(os.environ["HOME"]) / ".local" / "state" / "glm-agent" / "copies"
    assert not state.exists() or not any(state.iterdir())


def test_modes_decide_without_bwrap_on_path(tmp_path, monkeypatch):
    from glm_agent.tools.shell.sandbox import (
        SandboxSettings,
        SandboxUnavailable,
        open_sandbox,
    )

    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap there
    auto = open_sandbox(SandboxSettings(), tmp_path)
    assert (auto.mode, auto.active) == ("off", False) and "bwrap is not installed" in auto.reason
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        open_sandbox(SandboxSettings(mode="bwrap"), tmp_path)
    assert open_sandbox(SandboxSettings(mode="off"), tmp_path).reason.startswith("sandbox.mode = off")


def test_the_bash_started_ahead_is_sandboxed_and_background_jobs_last_until_the_toolset_closes(repo, sandboxed):
    from glm_agent.tools import build_toolset
    from glm_agent.tools.shell.sandbox import SandboxSettings, open_sandbox

    tools = build_toolset(repo, sandbox=open_sandbox(SandboxSettings(), repo))
    bash = lambda command: tools.dispatch("bash", json.dumps({"command": command})).text  # noqa: E731
    try:
        touch = python("open('.git/probe', 'w')")
        assert "Read-only file system" in bash(touch)
        assert "Read-only file system" in bash(touch)  # the second call's bash was started ahead
        bash("sleep 4242 > /dev/null 2>&1 & echo $! > job.pid")
        pid = int((repo / "job.pid").read_text())
        assert bash(f"kill -0 {pid} && echo alive").startswith("alive")
    finally:
        tools.close()
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
