"""Quota-aware batches, from the outside: one request limit for the whole batch, GLM's busy answer (1302) slowing
the batch instead of failing tasks, quota exhaustion pausing it until the reset or stopping it (exit 3, resume
later), infrastructure failures marked apart and run again with --resume --retry-infra."""
from __future__ import annotations

import json
import threading
import time

import pytest
from glm_agent.batch.outcomes import BEIJING_UTC_OFFSET_S, reset_time
from glm_agent.testing import Fault, Reply, StandIn
from helpers import Creator, batch_cli, git_init, result_rows, write_tasks

pytestmark = pytest.mark.slow


@pytest.fixture
def tasks(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    repo = git_init(tmp_path / "repo")
    return write_tasks(tmp_path / "tasks.jsonl", [{"id": n, "repo": str(repo), "task": f"create {n}.txt"}
                                                  for n in ("a", "b", "c", "d")])


@pytest.mark.parametrize("limit, most", [(1, 1), (4, 4)])
def test_one_request_limit_holds_for_the_whole_batch(tasks, tmp_path, limit, most):
    model = Creator(hold=0.4)
    with StandIn(responder=model) as server:
        done = batch_cli(tasks, tmp_path / "out", server.base_url, "--workers", "4", "--max-requests", str(limit))
    assert done.returncode == 0, done.stderr
    assert model.peak == most  # 4 tasks in parallel: the limit, not the workers, decides
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["requests"]["peak"] == most and summary["outcomes"]["succeeded"] == 4


def test_glm_busy_slows_the_batch_down_instead_of_failing_tasks(tasks, tmp_path):
    model = Creator(hold=0.3)
    model.fault = lambda body: Fault.http(429, "1302") if model.in_flight > 1 else None  # one at a time, says GLM
    with StandIn(responder=model) as server:
        done = batch_cli(tasks, tmp_path / "out", server.base_url, "--workers", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(row["success"] for row in result_rows(tmp_path / "out").values())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["requests"]["busy_errors"] >= 1 and summary["requests"]["allowed"] < 4
    assert "GLM said busy" in done.stdout


def test_quota_exhausted_stops_cleanly_then_resume_later_does_the_rest(tasks, tmp_path):
    broke = threading.Event()  # from task b on, the account has no balance

    def no_balance(body: dict):
        if "create b.txt" in body["messages"][1]["content"]:
            broke.set()
        return Fault.http(429, "1113", "Insufficient balance or no resource package.") if broke.is_set() else None

    model, out = Creator(fault=no_balance), tmp_path / "out"
    with StandIn(responder=model) as server:
        stopped = batch_cli(tasks, out, server.base_url, "--workers", "1")
        kept, summary = result_rows(out), json.loads((out / "summary.json").read_text())
        model.fault = None  # topped up
        resumed = batch_cli(tasks, out, server.base_url, "--workers", "1", "--resume")
    assert stopped.returncode == 3, stopped.stderr
    assert "quota exhausted" in stopped.stderr and "3 tasks not run" in stopped.stderr
    assert "Resume later" in stopped.stderr and "--resume" in stopped.stderr
    assert list(kept) == ["a"]  # b, c and d are not failures: they have no line yet
    assert summary["state"] == "quota" and summary["not_run"] == 3
    assert resumed.returncode == 0, resumed.stderr
    rows = result_rows(out)
    assert sorted(rows) == ["a", "b", "c", "d"] and all(r["success"] for r in rows.values())


def test_quota_with_a_reset_time_pauses_the_batch_until_then(tasks, tmp_path):
    reset_at = time.time() + 3
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(reset_at + BEIJING_UTC_OFFSET_S + 1))
    model = Creator()
    model.fault = lambda body: (Fault.http(429, "1308", f"Usage limit reached for 5 hour. Your limit will reset "
                                           f"at {stamp}") if time.time() < reset_at and "b.txt" in
                                body["messages"][1]["content"] else None)
    with StandIn(responder=model) as server:
        done = batch_cli(tasks, tmp_path / "out", server.base_url, "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "paused until" in done.stderr
    assert all(row["success"] for row in result_rows(tmp_path / "out").values())


def test_infrastructure_failures_are_marked_and_run_again_with_retry_infra(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    repo = git_init(tmp_path / "repo")
    tasks = write_tasks(tmp_path / "tasks.jsonl", [
        {"id": "ok", "repo": str(repo), "task": "create ok.txt"},
        {"id": "later", "repo": str(tmp_path / "not-yet"), "task": "create later.txt"},
        {"id": "lazy", "repo": str(repo), "task": "do nothing"},
    ])
    model = Creator(fault=lambda body: Reply(content="I would rather not.")  # the agent's own failure: no_action
                    if "do nothing" in body["messages"][1]["content"] else None)
    out = tmp_path / "out"
    with StandIn(responder=model) as server:
        first = batch_cli(tasks, out, server.base_url)
        before = result_rows(out)
        git_init(tmp_path / "not-yet")
        plain = batch_cli(tasks, out, server.base_url, "--resume")
        skipped = result_rows(out)
        again = batch_cli(tasks, out, server.base_url, "--resume", "--retry-infra")
    assert first.returncode == 1
    assert {i: r["failure"] for i, r in before.items()} == {"ok": None, "later": "infra", "lazy": "agent"}
    assert plain.returncode == 1 and skipped == before  # --resume alone does not run it again
    after = result_rows(out)
    assert after["later"]["success"] and after["later"]["failure"] is None
    assert after["lazy"] == before["lazy"]  # the agent's own failure is not run again
    assert again.returncode == 1 and "1 agent failures" in again.stdout


def test_reset_times_are_read_from_the_message():
    assert reset_time("Your limit will reset at 2026-01-02 08:00:00") == 1767312000.0  # 00:00 UTC
    assert reset_time('{"next_flush_time": 1767312000000}') == 1767312000.0
    assert reset_time("Insufficient balance") is None


def test_a_killed_child_gives_its_request_slot_back():
    import subprocess
    import sys

    from glm_agent.batch.limiter import Limiter
    from glm_agent.batch.slots import SlotClient, SlotServer

    limiter = Limiter(1)
    server = SlotServer(limiter)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom glm_agent.batch.slots import SlotClient\n"
        f"with SlotClient({server.address!r}, 'child').slot():\n    print('held', flush=True)\n    time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held" and limiter.in_use == 1
        holder.kill()
        holder.wait()
        with SlotClient(server.address, "next").slot():  # would wait forever if the dead child kept it
            assert limiter.in_use == 1
        assert limiter.stats()["peak"] == 1
    finally:
        holder.kill()
        server.close()


def test_a_closed_slot_server_leaves_no_accept_thread_behind():
    """A batch run in-process (the library, these tests) closes its server; an accept thread left blocked on an
    old descriptor number could take the connections of whatever reuses it (the likely cause of a hang seen in
    two full test runs: a later stand-in's HTTP requests read as slot requests)."""
    from glm_agent.batch.limiter import Limiter
    from glm_agent.batch.slots import SlotServer

    servers = [SlotServer(Limiter(1)) for _ in range(3)]
    for server in servers:
        server.close()
    deadline = time.monotonic() + 5
    while any(t.name == "request-slots" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "request-slots" for t in threading.enumerate())
    assert all(server._sock.fileno() == -1 for server in servers)
