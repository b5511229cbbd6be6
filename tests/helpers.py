"""Helpers the tests share (no tests here): real git repositories, scripted stand-in replies, a job over loopback."""
from __future__ import annotations

import json
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
