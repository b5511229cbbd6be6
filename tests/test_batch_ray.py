"""`glm-agent batch --executor ray` on a real local Ray cluster (started once per session by conftest): the same
results, summary and progress as the local executor, clones on the node, the batch's request limit held across
Ray tasks, the task timeout, Ctrl-C (Ray tasks cancelled, finished results kept, exit 130) and --resume."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from glm_agent.testing import StandIn
from helpers import Creator, batch_cli, git, git_init, result_rows, write_tasks

pytestmark = pytest.mark.slow


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")  # the driver forwards it to the nodes' tasks


def test_ray_batch_runs_each_task_on_a_clone_with_one_request_limit(ray_cluster, key, tmp_path):
    repo = git_init(tmp_path / "repo")
    tasks = write_tasks(tmp_path / "tasks.jsonl", [
        {"id": "a", "repo": str(repo), "task": "create a.txt"},
        {"id": "b", "repo": f"file://{repo}", "task": "create b.txt"},
        {"id": "c", "repo": str(repo), "task": "create c.txt"},
        {"id": "hang", "repo": str(repo), "task": "fix it", "check": "sleep 60"},  # hangs holding no request
        {"id": "nowhere", "repo": str(tmp_path / "missing"), "task": "create x.txt"},
    ])
    model, out = Creator(hold=0.3), tmp_path / "out"
    with StandIn(responder=model) as server:
        done = batch_cli(tasks, out, server.base_url, "--executor", "ray", "--ray-address", ray_cluster,
                         "--workers", "2", "--max-requests", "1", "--task-timeout", "8")
    assert done.returncode == 1, done.stderr
    rows = result_rows(out)
    assert {i for i, r in rows.items() if r["success"]} == {"a", "b", "c"}
    assert rows["hang"]["stop_reason"] == "timeout" and rows["hang"]["failure"] == "timeout"
    assert rows["nowhere"]["stop_reason"] == "setup_failed" and "every node can reach" in rows["nowhere"]["error"]
    assert model.peak == 1  # two Ray tasks at once, one request at a time: the actor's limit
    for name in ("a", "b", "c"):
        work = Path(rows[name]["workdir"])
        assert (work / ".git").is_dir()  # a clone on the node, never a worktree of the source
        assert git(work, "show", "--name-only", "--format=", rows[name]["commit"]) == f"{name}.txt"
    assert git(repo, "status", "--porcelain") == "" and "glm-agent/" not in git(repo, "branch", "--list")
    assert set(rows["a"]) >= {"id", "workdir", "stop_reason", "success", "exit_code", "steps", "tokens",
                              "cost_usd", "branch", "commit", "run_dir", "error", "duration_s", "failure"}
    assert "[batch] a: ok" in done.stderr and "[batch] 5/5 done, 2 failed" in done.stderr
    assert done.stdout.splitlines()[0].split()[:3] == ["id", "status", "stop_reason"]
    assert "3/5 succeeded, 0 agent failures, 1 infrastructure failures, 1 timed out" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["requests"]["peak"] == 1 and summary["slowest"][0]["id"] == "hang"


def test_ctrl_c_cancels_the_ray_tasks_keeps_finished_results_and_resume_does_the_rest(ray_cluster, key, tmp_path):
    repo = git_init(tmp_path / "repo")
    tasks = write_tasks(tmp_path / "tasks.jsonl", [
        {"id": "quick", "repo": str(repo), "task": "create quick.txt"},
        {"id": "slow", "repo": str(repo), "task": "wait, then create slow.txt"},
    ])
    waiting, release = threading.Event(), threading.Event()

    def hold(body: dict):
        if "wait," in body["messages"][1]["content"] and not release.is_set():
            waiting.set()
            release.wait(60)
        return None

    out = tmp_path / "out"
    model = Creator(fault=hold)
    with StandIn(responder=model) as server:
        command = [sys.executable, "-I", "-m", "glm_agent", "batch", str(tasks), "--out", str(out), "--executor",
                   "ray", "--ray-address", ray_cluster, "-c", f"model.base_url={server.base_url}"]
        batch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while not (waiting.is_set() and "quick" in result_rows(out)):
            assert time.monotonic() < deadline and batch.poll() is None, "the batch did not get there"
            time.sleep(0.2)
        batch.send_signal(signal.SIGINT)
        stdout, stderr = batch.communicate(timeout=60)
        first = result_rows(out)
        trajectory = next((out / "work" / "slow" / ".glm-agent" / "runs").glob("*/trajectory.jsonl"))
        last_event = json.loads(trajectory.read_text().splitlines()[-1])
        release.set()
        resumed = batch_cli(tasks, out, server.base_url, "--executor", "ray", "--ray-address", ray_cluster,
                            "--resume")
    assert batch.returncode == 130, stderr
    assert "rerun with --resume" in stderr
    assert list(first) == ["quick"]  # the cancelled task left no line
    assert (last_event["type"], last_event.get("stop_reason")) == ("stop", "interrupted")  # its child stopped cleanly
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(result_rows(out)) == ["quick", "slow"]


def test_ray_without_an_address_starts_a_local_cluster_on_loopback(key, tmp_path, ray_cluster):
    repo = git_init(tmp_path / "repo")
    tasks = write_tasks(tmp_path / "tasks.jsonl", [{"id": "one", "repo": str(repo), "task": "create one.txt"}])
    with StandIn(responder=Creator()) as server:
        done = batch_cli(tasks, tmp_path / "out", server.base_url, "--executor", "ray", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert result_rows(tmp_path / "out")["one"]["success"]


def test_a_ray_address_with_no_cluster_is_a_usage_error_at_once(tmp_path, key):
    import importlib.util

    from helpers import need

    need(importlib.util.find_spec("ray") is not None, 'Ray (pip install "glm-agent[ray]")')
    tasks = write_tasks(tmp_path / "tasks.jsonl", [{"id": "a", "repo": str(git_init(tmp_path / "r")), "task": "x"}])
    started = time.monotonic()
    done = batch_cli(tasks, tmp_path / "out", "http://127.0.0.1:9/api/paas/v4", "--executor", "ray",
                     "--ray-address", "127.0.0.1:1", timeout=60)
    assert done.returncode == 2 and "no Ray cluster at --ray-address 127.0.0.1:1" in done.stderr
    assert time.monotonic() - started < 30 and not (tmp_path / "out").exists()


def test_ray_is_imported_only_by_its_executor():
    code = ("import sys, glm_agent.cli.main, glm_agent.cli.batch, glm_agent.batch.runner, glm_agent.batch.local, "
            "glm_agent.batch.swebench, glm_agent.batch.summary, glm_agent.jobs.model; print('ray' in sys.modules)")
    assert subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
