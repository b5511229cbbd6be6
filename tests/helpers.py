"""Helpers the tests share (no tests here): real git repositories, scripted stand-in replies, a job over loopback."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from glm_agent.config.settings import Config
from glm_agent.glm.client import GLMClient
from glm_agent.jobs.records import read_events
from glm_agent.jobs.run import Job, run_job
from glm_agent.testing import Reply, StandIn

DOCS = Path(__file__).resolve().parents[1] / "docs"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"  # the steering repo's shared/ (recordings)
FAKE_KEY = "zai-test-key-0123456789abcdef"

CALC_BUG = "def add(a, b):\n    return a - b\n"
CALC_FIXED = "def add(a, b):\n    return a + b\n"
TEST = ("import sys\nsys.path.insert(0, '.')\nimport calc\n"
        "result = calc.add(2, 3)\nassert result == 5, f'add(2, 3) returned {result}, expected 5'\nprint('ok')\n")
CHECK = f"{sys.executable} tests/test_calc.py"


def git_init(path: Path) -> Path:
    """A real git repo with an identity and one commit, as a user's checkout would be."""
    import git

    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Test User")
        cfg.set_value("user", "email", "test@example.com")
    (path / "README.md").write_text("hello\n")
    repo.index.add(["README.md"])
    repo.index.commit("initial")
    return path


def git_out(repo: Path, *args: str, check: bool = True) -> str:
    """git's stdout as it is; a failing command fails the test with git's stderr (unless check=False)."""
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc.stdout


def git(repo: Path, *args: str) -> str:
    """git's stdout, stripped; a failing command fails the test."""
    return git_out(repo, *args).strip()


def make_user_mess(repo: Path) -> dict[str, str]:
    """A realistic dirty tree: a modified tracked file, a staged new file, an untracked file."""
    (repo / "lib.py").write_text("".join(f"line {i}\n" for i in range(1, 21)))
    git(repo, "add", "lib.py")
    git(repo, "commit", "-qm", "add lib")
    files = {
        "README.md": "hello\nuser edit\n",
        "staged.txt": "staged by user\n",
        "notes/untracked.txt": "user notes\n",
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "staged.txt")
    return files


def buggy_project(repo: Path) -> Path:
    """calc.py whose add() subtracts, and tests/test_calc.py (run by CHECK) that says so."""
    (repo / "calc.py").write_text(CALC_BUG)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_calc.py").write_text(TEST)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc with a bug")
    return repo


def tool_results(body: dict) -> list[str]:
    """The tool results in a request body the stand-in received, in order."""
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def call(name: str, **arguments) -> Reply:
    return Reply(tool_calls=[(name, arguments)])


def finish(summary: str = "done") -> Reply:
    return call("finish", summary=summary)


# Runs whose lone `finish` is not the point of the test turn "evidence before done" off (docs/done-and-resume.md):
NO_EVIDENCE_ARGS = ("-c", "limits.evidence_before_finish=false")  # for the CLI


def no_evidence_config(**sections) -> Config:
    """Config(**sections) with limits.evidence_before_finish off (other limits given in `limits` are kept)."""
    limits = {**sections.pop("limits", {}), "evidence_before_finish": False}
    return Config(**sections, limits=limits)


def run_script(repo: Path, script: list, *, config: Config | None = None, task: str = "Fix it", **job):
    """Run the job against a stand-in serving `script`; returns (result, stand-in requests, events)."""
    with StandIn(script) as server:
        with GLMClient(server.base_url, FAKE_KEY, max_retries=0) as client:
            result = run_job(Job(task, repo, config or Config(), **job), model=client)
        requests = list(server.requests)
    return result, requests, list(read_events(Path(result.run_dir)))


def dumps(message: dict) -> str:
    return json.dumps(message, sort_keys=True, ensure_ascii=False)


def need(available: bool, what: str) -> None:
    """Skip a test whose component is missing on a user's machine, but fail it in CI (CI set), where the
    component must be there: a test that silently skips in CI proves nothing."""
    import os

    import pytest

    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing, and CI must have it", pytrace=False)
    pytest.skip(f"{what} is missing")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]


def chromium() -> str | None:
    """The headless browser the report tests load pages in (Debian package chromium), or None."""
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


def browse(page: Path, *, screenshot: Path | None = None, size: str = "1200,1800", timeout: float = 60) -> tuple[str, list[str]]:
    """Load `page` in headless Chromium with a new empty profile: (the DOM after its scripts ran, the console
    messages it logged). With `screenshot`, a PNG of the page is written there instead and the DOM is ""."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        action = [f"--screenshot={screenshot}", f"--window-size={size}"] if screenshot else ["--dump-dom"]
        proc = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *action,
                               Path(page).resolve().as_uri()], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return ("" if screenshot else proc.stdout), console


def cli(*args, stdin: str | None = None, env: dict | None = None, timeout: float = 120,
        **kwargs) -> subprocess.CompletedProcess:
    """`glm-agent ARGS` as a user runs it (python -I: isolated from the developer's site settings), its output
    captured; the key is the test's own when it set one, else the fake key."""
    env = {**os.environ, **(env or {})}
    env.setdefault("ZAI_API_KEY", FAKE_KEY)
    return subprocess.run([sys.executable, "-I", "-m", "glm_agent", *map(str, args)], env=env, text=True,
                          capture_output=True, input=stdin, timeout=timeout, **kwargs)


def doc_example(name: str) -> str:
    """The fenced block after `<!-- example: NAME -->` in docs/output.md."""
    text = (DOCS / "output.md").read_text()
    return re.search(rf"<!-- example: {re.escape(name)} -->\n```\w*\n(.*?)```", text, re.S).group(1)


def bwrap_works() -> bool:
    """Whether bubblewrap can start a sandbox here (installed, and user namespaces or root allowed)."""
    import shutil
    import subprocess

    if shutil.which("bwrap") is None:
        return False
    probe = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-net", "true"]
    return subprocess.run(probe, capture_output=True, stdin=subprocess.DEVNULL, timeout=30).returncode == 0


def toml_config(path: Path, text: str) -> Path:
    """A config file the user passes with --config (trusted, unlike the repository's own)."""
    path.write_text(text)
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Until a server listens on loopback `port` (fails the test after `timeout`)."""
    import socket
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout}s")


def have_mcp() -> bool:
    import importlib.util

    return importlib.util.find_spec("mcp") is not None


class Creator:
    """A stand-in responder for batch tests: 'create NAME' writes NAME, then finishes; counts the requests in
    flight (each held `hold` seconds, so parallel tasks overlap) and can answer a Fault instead (`fault(body)`)."""

    def __init__(self, hold: float = 0.0, fault=None):
        self.hold, self.fault = hold, fault
        self.in_flight = self.peak = self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict):
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.hold)
            answer = self.fault(body) if self.fault else None
            if answer is not None:
                return answer
            name = re.search(r"create (\S+)", body["messages"][1]["content"]).group(1)
            if not tool_results(body):
                return call("write_file", path=name, content=f"{name}\n")
            return call("finish", summary=f"created {name}")
        finally:
            with self._lock:
                self.in_flight -= 1


def batch_cli(tasks: Path, out: Path, base_url: str, *extra: str, timeout: float = 180):
    """`glm-agent batch` as a user runs it: a subprocess against the stand-in at `base_url`; backoff kept short."""
    command = [sys.executable, "-I", "-m", "glm_agent", "batch", str(tasks), "--out", str(out),
               "-c", f"model.base_url={base_url}", "-c", "model.backoff=[0.2, 1.0]", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def write_tasks(path: Path, tasks: list[dict]) -> Path:
    path.write_text("".join(json.dumps(task) + "\n" for task in tasks))
    return path


def result_rows(out: Path) -> dict[str, dict]:
    """OUT/results.jsonl by id; fails when a task has more than one line."""
    path = out / "results.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    assert len(rows) == len({r["id"] for r in rows}), "one line per task"
    return {r["id"]: r for r in rows}
