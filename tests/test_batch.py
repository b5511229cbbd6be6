"""`glm-agent batch` end to end: real worker subprocesses, real worktrees and clones, the stand-in over loopback."""
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

from agent.cli import main
from agent.standin import Reply, StandIn
from test_fix import CHECK, buggy_project, call, git, tool_results

pytestmark = pytest.mark.slow


def task_text(body: dict) -> str:
    return body["messages"][1]["content"]


class Model:
    """Answers by task: 'create NAME' writes NAME then finishes; 'give up' never calls a tool; 'hang' blocks."""

    def __init__(self):
        self.release = threading.Event()
        self.hung = threading.Event()

    def __call__(self, body: dict) -> Reply:
        text = task_text(body)
        if "hang forever" in text and not self.release.is_set():
            self.hung.set()
            self.release.wait(120)
        if "give up" in text:
            return Reply(content="I cannot do this.")
        if "This is a fix-up job" in text:
            if not tool_results(body):
                return call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
            return call("finish", summary="fixed add")
        name = re.search(r"create (\S+)", text).group(1)
        if not tool_results(body):
            return call("write_file", path=name, content=f"{name}\n")
        return call("finish", summary=f"created {name}")


def write_tasks(path: Path, repo: Path) -> Path:
    lines = [
        {"id": "t1", "repo": str(repo), "task": "create one.txt"},
        {"id": "t2", "repo": str(repo), "task": "create two.txt"},
        {"id": "t3", "repo": "repo", "task": "give up"},  # relative to the tasks file
        {"id": "t4", "repo": str(repo), "task": "hang forever, then create four.txt"},
        {"id": "t5", "repo": f"file://{repo}", "ref": "main", "task": "create five.txt"},
        {"id": "t6", "repo": str(repo), "task": "fix the calculator", "check": CHECK},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.fixture
def setup(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    buggy_project(repo)
    (repo / "user_wip.txt").write_text("the user's uncommitted work\n")
    return repo, write_tasks(repo.parent / "tasks.jsonl", repo), tmp_path / "out"


def results(out: Path) -> dict[str, dict]:
    lines = (out / "results.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == len({r["id"] for r in rows}), "one line per task"
    return {r["id"]: r for r in rows}


def test_six_tasks_three_workers_one_failing_one_hanging(setup, capsys):
    repo, tasks, out = setup
    model = Model()
    with StandIn(responder=model) as server:
        code = main(["batch", str(tasks), "--workers", "3", "--out", str(out), "--task-timeout", "30",
                     "-c", f"model.base_url={server.base_url}"])
        model.release.set()
    captured = capsys.readouterr()

    assert code == 1
    rows = results(out)
    assert sorted(rows) == ["t1", "t2", "t3", "t4", "t5", "t6"]
    ok = {i for i, r in rows.items() if r["success"]}
    assert ok == {"t1", "t2", "t5", "t6"}
    assert rows["t3"]["stop_reason"] == "no_action" and rows["t3"]["exit_code"] == 1
    assert rows["t4"]["stop_reason"] == "timeout" and "30s timeout" in rows["t4"]["error"]
    assert rows["t6"]["stop_reason"] == "finished" and rows["t6"]["exit_code"] == 0
    for task_id, name in (("t1", "one.txt"), ("t2", "two.txt"), ("t5", "five.txt")):
        row = rows[task_id]
        assert row["steps"] == 2 and row["tokens"] > 0 and row["commit"] and row["run_dir"]
        work = Path(row["workdir"])
        # each task saw only its own change: no other task's file in its checkout or its commit
        created = {p.name for p in work.glob("*.txt")}
        assert created == {name}
        assert git(work, "show", "--name-only", "--format=", row["commit"]) == name
    # worktree tasks committed into the user's repo on their own branches; the clone's commit stayed in the clone
    assert git(repo, "cat-file", "-t", rows["t1"]["commit"]) == "commit"
    assert rows["t1"]["branch"] in git(repo, "branch", "--list", "glm-agent/*")
    # the user's own checkout was never touched
    assert git(repo, "branch", "--show-current") == "main"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "?? user_wip.txt"
    assert "[batch] 6/6 done, 2 failed, 0 running" in captured.err
    table = captured.out.splitlines()
    assert table[0].split()[:3] == ["id", "status", "stop_reason"]
    assert any(line.split()[:3] == ["t4", "FAILED", "timeout"] for line in table)
    assert table[-1].startswith("4/6 succeeded")


def test_interrupt_then_resume(setup):
    repo, tasks, out = setup
    model = Model()
    with StandIn(responder=model) as server:
        command = [sys.executable, "-m", "agent.cli", "batch", str(tasks), "--workers", "3", "--out", str(out),
                   "-c", f"model.base_url={server.base_url}"]
        batch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (model.hung.is_set() and _count(out) >= 3):
            time.sleep(0.2)
        assert model.hung.is_set(), "the hanging task never reached the model"
        batch.send_signal(signal.SIGINT)
        stdout, stderr = batch.communicate(timeout=60)
        assert batch.returncode == 130, stderr
        assert "rerun with --resume" in stderr
        first = results(out)
        assert "t4" not in first and len(first) < 6
        # the hanging child got a clean stop (SIGINT to its process group), so its record ends properly
        trajectory = next((out / "work" / "t4" / ".glm-agent" / "runs").glob("*/trajectory.jsonl"))
        last = json.loads(trajectory.read_text().splitlines()[-1])
        assert (last["type"], last["stop_reason"]) == ("stop", "interrupted")

        model.release.set()  # the hang is gone: --resume runs only what is left
        before = len(server.requests)
        resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 1, resumed.stderr  # t3 fails on purpose
        again = {task_text(body) for body in server.requests[before:]}

    final = results(out)
    assert sorted(final) == ["t1", "t2", "t3", "t4", "t5", "t6"]
    assert {k: v for k, v in final.items() if k in first} == first  # earlier results kept as they were
    redone = {line["id"] for line in map(json.loads, (out / "results.jsonl").read_text().splitlines()[len(first):])}
    assert redone == set(final) - set(first)
    task_of = {row["id"]: row["task"] for row in map(json.loads, tasks.read_text().splitlines())}
    assert not any(task_of[done] in text for done in first for text in again)
    assert final["t4"]["success"]
    without_resume = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert without_resume.returncode == 2 and "--resume" in without_resume.stderr


def _count(out: Path) -> int:
    path = out / "results.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_bad_tasks_file_is_a_usage_error(tmp_path, capsys):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a", "repo": ".", "task": "x"}\n{"id": "a", "repo": ".", "task": "y"}\n')
    assert main(["batch", str(tasks), "--out", str(tmp_path / "out")]) == 2
    assert "duplicate id 'a'" in capsys.readouterr().err
    tasks.write_text('{"id": "a", "task": "no repo"}\n')
    assert main(["batch", str(tasks), "--out", str(tmp_path / "out")]) == 2
    assert f"{tasks}:1" in capsys.readouterr().err


def test_setup_failure_is_one_failed_task(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "nope", "repo": str(tmp_path / "missing"), "task": "x"}) + "\n")
    assert main(["batch", str(tasks), "--out", str(tmp_path / "out")]) == 1
    row = results(tmp_path / "out")["nope"]
    assert row["stop_reason"] == "setup_failed" and not row["success"]


def test_example_tasks_file_parses():
    from agent.batch import load_tasks

    example = Path(__file__).resolve().parents[1] / "examples" / "tasks.jsonl"
    tasks = load_tasks(example)
    assert len(tasks) >= 3 and any(t.check for t in tasks) and any(t.ref for t in tasks)
    assert all(t.task for t in tasks)


class FakeTerminal:
    """A stderr that says it is a terminal: the progress line is then redrawn in place."""

    def __init__(self):
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_progress_redraws_only_on_a_terminal(tty):
    import io

    from agent.batchview import Progress

    stream = FakeTerminal() if tty else io.StringIO()
    progress = Progress(total=2, stream=stream)
    progress.tick(2)
    progress.task_done({"id": "a", "success": True, "cost_usd": 0.5}, 1)
    progress.task_done({"id": "b", "success": False, "stop_reason": "timeout"}, 0)
    progress.close()
    text = stream.text if tty else stream.getvalue()
    assert "[batch] a: ok\n" in text and "[batch] b: timeout\n" in text
    assert "[batch] 2/2 done, 1 failed, 0 running, $0.5000, ETA 0s" in text
    assert ("\r" in text) is tty


def test_a_crashing_task_does_not_stop_the_others(repo, tmp_path, monkeypatch, capsys):
    from conftest import git_init

    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    broken = git_init(tmp_path / "broken")
    (broken / ".glm-agent.toml").write_text("[limits]\nmax_steps = 'many'\n")  # the task's process exits 2
    git(broken, "add", ".glm-agent.toml")
    git(broken, "commit", "-qm", "bad config")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "crash", "repo": str(broken), "task": "create a.txt"}) + "\n"
                     + json.dumps({"id": "fine", "repo": str(repo), "task": "create b.txt"}) + "\n")
    with StandIn(responder=Model()) as server:
        code = main(["batch", str(tasks), "--out", str(tmp_path / "out"), "-c", f"model.base_url={server.base_url}"])
    assert code == 1
    rows = results(tmp_path / "out")
    assert rows["fine"]["success"]
    assert rows["crash"]["stop_reason"] == "crashed" and rows["crash"]["exit_code"] == 2
    assert "max_steps" in rows["crash"]["error"]


def test_resume_after_a_line_cut_short(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "a", "repo": str(repo), "task": "create a.txt"}) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text('{"id": "old", "success": true}\n{"id": "a", "succ')  # batch killed mid-write
    with StandIn(responder=Model()) as server:
        code = main(["batch", str(tasks), "--out", str(out), "--resume", "-c", f"model.base_url={server.base_url}"])
    assert code == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["id"] == "a" and json.loads(lines[-1])["success"]
