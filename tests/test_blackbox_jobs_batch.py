"""batch from the outside: the real CLI as a subprocess, real worktrees and clones, the stand-in over loopback."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from glm_agent.testing import Reply, StandIn
from helpers import CHECK, buggy_project, call, git, git_init, tool_results

pytestmark = pytest.mark.slow
TASK_TIMEOUT = 20  # well above a normal task's few seconds on a loaded machine; the hanging task costs this much


class Model:
    """Answers by task: 'create NAME' writes NAME and finishes; a fix-up job fixes calc.py; 'hang' never answers;
    'wait' answers once released (it is running when the batch is interrupted)."""

    def __init__(self):
        self.release_hang, self.release_wait = threading.Event(), threading.Event()
        self.hung, self.waiting = threading.Event(), threading.Event()

    def __call__(self, body: dict) -> Reply:
        text = body["messages"][1]["content"]
        if "hang forever" in text:
            self.hung.set()
            self.release_hang.wait(120)
        if "wait, then" in text and not self.release_wait.is_set():
            self.waiting.set()
            self.release_wait.wait(120)
        if "This is a fix-up job" in text:
            if not tool_results(body):
                return call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
            return call("finish", summary="fixed add")
        name = re.search(r"create (\S+)", text).group(1)
        if not tool_results(body):
            return call("write_file", path=name, content=f"{name}\n")
        return call("finish", summary=f"created {name}")


def batch_command(tasks: Path, out: Path, server: StandIn, *extra: str) -> list[str]:
    return [sys.executable, "-I", "-m", "glm_agent", "batch", str(tasks), "--workers", "3", "--out", str(out),
            "--task-timeout", str(TASK_TIMEOUT), "-c", f"model.base_url={server.base_url}", *extra]


def result_lines(out: Path) -> list[dict]:
    path = out / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_batch_isolated_parallel_failing_hanging_interrupted_then_resumed(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    buggy_project(repo)
    git(repo, "switch", "-qc", "feature")
    (repo / "feature.txt").write_text("only on the feature branch\n")
    git(repo, "add", "feature.txt")
    git(repo, "commit", "-qm", "feature work")
    git(repo, "switch", "-q", "main")
    (repo / "user_wip.txt").write_text("the user's uncommitted work\n")
    broken = git_init(tmp_path / "broken")
    (broken / ".glm-agent.toml").write_text("[limits]\nmax_steps = 'many'\n")  # its task's process exits 2
    git(broken, "add", ".glm-agent.toml")
    git(broken, "commit", "-qm", "bad config")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(line) + "\n" for line in [
        {"id": "one", "repo": str(repo), "task": "create one.txt"},
        {"id": "two", "repo": f"file://{repo}", "ref": "feature", "task": "create two.txt"},
        {"id": "calc", "repo": "repo", "task": "fix the calculator", "check": CHECK},  # relative to tasks.jsonl
        {"id": "crash", "repo": str(broken), "task": "create crash.txt"},
        {"id": "hang", "repo": str(repo), "task": "hang forever, then create hang.txt"},
        {"id": "six", "repo": str(repo), "task": "wait, then create six.txt"},
        {"id": "nowhere", "repo": str(tmp_path / "missing"), "task": "create x.txt"},
    ]))
    out = tmp_path / "out"
    model = Model()
    with StandIn(responder=model) as server:
        batch = subprocess.Popen(batch_command(tasks, out, server), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        deadline = time.monotonic() + 60
        while not (model.hung.is_set() and model.waiting.is_set() and len(result_lines(out)) == 5):
            assert time.monotonic() < deadline, "the batch did not get there"
            time.sleep(0.2)
        batch.send_signal(signal.SIGINT)  # "hang" and "six" are running
        stdout, stderr = batch.communicate(timeout=60)
        first = result_lines(out)
        last_events = [json.loads(next((out / "work" / task / ".glm-agent" / "runs").glob("*/trajectory.jsonl"))
                                  .read_text().splitlines()[-1]) for task in ("hang", "six")]

        model.release_wait.set()
        resumed = subprocess.run(batch_command(tasks, out, server, "--resume"), capture_output=True, text=True,
                                 timeout=120)
        refused = subprocess.run(batch_command(tasks, out, server), capture_output=True, text=True, timeout=60)
        model.release_hang.set()

    assert batch.returncode == 130, stderr
    assert "rerun with --resume" in stderr
    assert sorted(row["id"] for row in first) == ["calc", "crash", "nowhere", "one", "two"]
    assert [(e["type"], e["stop_reason"]) for e in last_events] == [("stop", "interrupted")] * 2  # clean stops

    assert resumed.returncode == 1, resumed.stderr  # crash, hang and nowhere failed
    assert "[batch] hang: timeout" in resumed.stderr
    lines = result_lines(out)
    assert lines[:5] == first and sorted(row["id"] for row in lines[5:]) == ["hang", "six"]  # one line per id
    assert refused.returncode == 2 and "--resume" in refused.stderr
    rows = {row["id"]: row for row in lines}
    assert {i for i, row in rows.items() if row["success"]} == {"one", "two", "calc", "six"}
    assert rows["crash"]["stop_reason"] == "crashed" and rows["crash"]["exit_code"] == 2
    assert "max_steps" in rows["crash"]["error"]
    assert rows["hang"]["stop_reason"] == "timeout" and f"{TASK_TIMEOUT}s timeout" in rows["hang"]["error"]
    assert rows["nowhere"]["stop_reason"] == "setup_failed" and "does not exist" in rows["nowhere"]["error"]
    assert rows["calc"]["stop_reason"] == "finished"
    for task_id, name in (("one", "one.txt"), ("two", "two.txt"), ("six", "six.txt")):
        work = Path(rows[task_id]["workdir"])
        assert {p.name for p in work.glob("*.txt")} - {"feature.txt"} == {name}  # no other task's file, no WIP
        assert git(work, "show", "--name-only", "--format=", rows[task_id]["commit"]) == name
    two = Path(rows["two"]["workdir"])
    assert git(two, "rev-parse", f"{rows['two']['commit']}^") == git(repo, "rev-parse", "feature")
    # the user's checkout was never touched; worktree tasks left their branches in it
    assert git(repo, "branch", "--show-current") == "main"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "?? user_wip.txt"
    branches = {line[2:] for line in git(repo, "branch", "--list", "glm-agent/*").splitlines()}
    assert rows["one"]["branch"] in branches
    assert branches <= {row.get("branch") for row in rows.values()}  # interrupted attempts left no empty branch
    # a task's run is undone in its own worktree, never from the source checkout
    run_id, work = Path(rows["one"]["run_dir"]).name, rows["one"]["workdir"]
    elsewhere = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "undo", run_id, "--repo", str(repo)],
                               capture_output=True, text=True, timeout=60)
    assert elsewhere.returncode == 1 and f"--repo {work}" in elsewhere.stderr
    assert git(work, "rev-parse", "HEAD") == rows["one"]["commit"]
    here = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "undo", "--repo", work], capture_output=True, text=True,
                          timeout=60)
    assert here.returncode == 0, here.stderr
    assert not (Path(work) / "one.txt").exists()
    table = resumed.stdout.splitlines()
    assert table[0].split()[:3] == ["id", "status", "stop_reason"]
    assert any(line.split()[:3] == ["hang", "FAILED", "timeout"] for line in table)
    assert any(line.startswith("4/7 succeeded, 0 agent failures, 2 infrastructure failures, 1 timed out")
               for line in table), resumed.stdout


@pytest.mark.parametrize("lines, message", [
    (['{"id": "a", "repo": ".", "task": "x"}', '{"id": "b", "repo": ".", task: "y"}'], ":2: not valid JSON"),
    (['{"id": "a", "repo": ".", "task": "x"}', '{"id": "a", "repo": ".", "task": "y"}'], ":2: duplicate id 'a'"),
    (['{"id": "a", "repo": ".", "task": "x", "chek": "pytest"}'], ":1: unknown field(s) 'chek'"),
    (['{"id": "a", "repo": ".", "task": ""}'], ":1: missing or empty task"),
    (['{"id": "a", "repo": ".", "task": "x", "ref": 3}'], ":1: ref must be a string"),
])
def test_a_bad_tasks_file_is_refused_with_the_line(tmp_path, lines, message):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "batch", str(tasks), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and f"{tasks}{message}" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_the_default_out_inside_the_repo_stays_out_of_its_git_status(repo, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    (repo / "tasks.jsonl").write_text(json.dumps({"id": "a", "repo": ".", "task": "create a.txt"}) + "\n")
    with StandIn(responder=Model()) as server:
        proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "batch", "tasks.jsonl",
                               "-c", f"model.base_url={server.base_url}"], cwd=repo, capture_output=True, text=True,
                              timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "tasks-batch" / "work" / "a" / "a.txt").is_file()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "?? tasks.jsonl"


def test_a_bad_config_override_fails_the_batch_up_front(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "a", "repo": ".", "task": "x"}) + "\n")
    proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "batch", str(tasks), "--out", str(tmp_path / "out"),
                           "-c", "limits.max_steps=many"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "max_steps" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
