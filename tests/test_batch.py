"""`glm-agent batch` pieces: tasks file errors, setup failures, a crashing task, resume after a cut line, progress.

The whole batch (parallel, hanging, interrupted, resumed) is in test_blackbox_jobs_batch.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from glm_agent.cli.main import main
from glm_agent.testing import Reply, StandIn
from helpers import call, git, tool_results

pytestmark = pytest.mark.slow


def creator(body: dict) -> Reply:
    """Answers 'create NAME' by writing NAME, then finishes."""
    name = re.search(r"create (\S+)", body["messages"][1]["content"]).group(1)
    if not tool_results(body):
        return call("write_file", path=name, content=f"{name}\n")
    return call("finish", summary=f"created {name}")


def results(out: Path) -> dict[str, dict]:
    lines = (out / "results.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == len({r["id"] for r in rows}), "one line per task"
    return {r["id"]: r for r in rows}


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


def test_a_file_where_the_task_folder_goes_does_not_end_the_batch(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "a", "repo": str(tmp_path / "missing"), "task": "x"}) + "\n")
    (tmp_path / "out" / "work").mkdir(parents=True)
    (tmp_path / "out" / "work" / "a").write_text("not a folder")  # shutil.rmtree raised on it
    assert main(["batch", str(tasks), "--out", str(tmp_path / "out")]) == 1
    assert results(tmp_path / "out")["a"]["stop_reason"] == "setup_failed"


def test_example_tasks_file_parses():
    from glm_agent.batch.tasks import load_tasks

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

    from glm_agent.batch.view import Progress

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
    from helpers import git_init

    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    broken = git_init(tmp_path / "broken")
    (broken / ".glm-agent.toml").write_text("[limits]\nmax_steps = 'many'\n")  # the task's process exits 2
    git(broken, "add", ".glm-agent.toml")
    git(broken, "commit", "-qm", "bad config")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "crash", "repo": str(broken), "task": "create a.txt"}) + "\n"
                     + json.dumps({"id": "fine", "repo": str(repo), "task": "create b.txt"}) + "\n")
    with StandIn(responder=creator) as server:
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
    with StandIn(responder=creator) as server:
        code = main(["batch", str(tasks), "--out", str(out), "--resume", "-c", f"model.base_url={server.base_url}"])
    assert code == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["id"] == "a" and json.loads(lines[-1])["success"]
