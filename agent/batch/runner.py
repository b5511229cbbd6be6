"""`glm-agent batch`: run many tasks, each in its own git worktree or clone, by N worker subprocesses.

Each task is a `glm-agent run|fix ... --json` child in its own process group, so a crash or a hang (killed at
its timeout) only ends that task. results.jsonl gets one line per finished task, appended and flushed.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, TextIO

from glm_agent.batch.tasks import (
    BatchError,
    Task,
    end_with_newline,
    is_url,
    keep_out_of_repos,
    load_tasks,
    read_results,
)
from glm_agent.batch.view import Progress
from glm_agent.config.loading import load_config
from glm_agent.tools.shell.procs import kill_group

KILL_GRACE_S = 5.0
CHILD = [sys.executable, "-I", "-m", "glm_agent"]


@dataclass
class Batch:
    tasks: list[Task]
    out: Path
    workers: int = 2
    task_timeout: float = 1800.0
    child_args: list[str] = field(default_factory=list)
    stream: Optional[TextIO] = None  # progress output; None means sys.stderr at run time
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _setup_lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _running: dict = field(default_factory=dict)

    def run(self, done_ids: set[str]) -> bool:
        """Run the tasks not in `done_ids`; False when interrupted (Ctrl-C: children killed, results kept)."""
        todo = [t for t in self.tasks if t.id not in done_ids]
        self.progress = Progress(total=len(todo), stream=self.stream or sys.stderr)
        pool = ThreadPoolExecutor(max_workers=self.workers)
        futures = [pool.submit(self._run_one, task) for task in todo]
        try:
            while not all(f.done() for f in futures):
                wait(futures, timeout=0.5)
                self.progress.tick(len(self._running))
            for future in futures:
                future.result()  # a bug in this module must not pass silently
            return True
        except KeyboardInterrupt:
            with self._lock:
                self._stopping.set()
                running = list(self._running.values())
            for future in futures:
                future.cancel()
            _kill_groups(running)
            return False
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.progress.close()

    def _run_one(self, task: Task) -> None:
        if self._stopping.is_set():
            return
        started = time.monotonic()
        logs = self.out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        workdir = self.out / "work" / task.slug
        row = {"id": task.id, "workdir": str(workdir)}
        deadline = started + self.task_timeout
        (logs / f"{task.slug}.log").write_bytes(b"")
        try:
            self._prepare(task, workdir, deadline, logs / f"{task.slug}.log")
            row.update(self._child(task, workdir, logs, deadline))
        except _SetupFailed as exc:
            row.update(stop_reason="setup_failed", success=False, exit_code=None, error=str(exc))
        if self._stopping.is_set():
            return  # interrupted: no result line, so --resume runs this task again
        row["duration_s"] = round(time.monotonic() - started, 2)
        self._record(row)

    def _prepare(self, task: Task, workdir: Path, deadline: float, log: Path) -> None:
        """A fresh checkout of the task's repo at its ref, private to this task."""
        try:
            if workdir.is_dir() and not workdir.is_symlink():  # left by an interrupted earlier attempt
                shutil.rmtree(workdir)
            elif workdir.exists() or workdir.is_symlink():
                workdir.unlink()
            workdir.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # one task's folder must not end the whole batch
            raise _SetupFailed(f"cannot prepare {workdir}: {exc}") from None
        if is_url(task.repo):
            self._git(task, ["clone", "-q", "--no-hardlinks", task.repo, str(workdir)], None, deadline, log)
            if task.ref:
                try:  # a commit, a tag, or the default branch
                    self._git(task, ["checkout", "-q", "--detach", task.ref], workdir, deadline, log)
                except _SetupFailed:  # another branch of the remote
                    self._git(task, ["checkout", "-q", "--detach", f"origin/{task.ref}"], workdir, deadline, log)
            return
        source = Path(task.repo)
        if not source.is_dir():
            raise _SetupFailed(f"the repository folder {source} does not exist")
        with self._setup_lock:  # concurrent `worktree add` on one repo race on its admin files
            self._git(task, ["worktree", "prune"], source, deadline, log)
            self._git(task, ["worktree", "add", "-q", "--detach", str(workdir.resolve()), task.ref or "HEAD"],
                      source, deadline, log)

    def _git(self, task: Task, args: list[str], cwd: Path | None, deadline: float, log: Path) -> None:
        try:
            with open(log, "ab") as err:
                code, timed_out = self._spawn(task, ["git", *args], cwd, subprocess.DEVNULL, err, deadline)
        except OSError as exc:  # e.g. the repo folder does not exist
            raise _SetupFailed(f"git {args[0]}: {exc}") from None
        if timed_out or code != 0:
            tail = log.read_text(errors="replace").strip()[-1000:]
            raise _SetupFailed(f"git {args[0]} {'timed out' if timed_out else 'failed'}: {tail}")

    def _child(self, task: Task, workdir: Path, logs: Path, deadline: float) -> dict:
        branch = f"glm-agent/batch-{task.slug}-{os.urandom(2).hex()}"
        command = [*CHILD, "fix" if task.check else "run", *([f"--check={task.check}"] if task.check else []),
                   "--json", "--repo", str(workdir), "--branch", branch, *self.child_args, "--", task.task]
        out_path, err_path = logs / f"{task.slug}.json", logs / f"{task.slug}.log"
        with open(out_path, "wb") as out, open(err_path, "ab") as err:
            code, timed_out = self._spawn(task, command, None, out, err, deadline)
        return _row_from_child(code, out_path.read_text(errors="replace"),
                               err_path.read_text(errors="replace"), timed_out, self.task_timeout)

    def _spawn(self, task: Task, command: list[str], cwd: Path | None, out, err, deadline: float) -> tuple[int, bool]:
        """Run one process in its own group until it ends or the task's deadline (then the group is killed)."""
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        with self._lock:
            self._running[task.id] = proc
            stopping = self._stopping.is_set()  # checked under the lock the Ctrl-C path kills under
        timed_out = False
        try:
            if stopping:
                _kill_groups([proc])
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_groups([proc])
        finally:
            with self._lock:
                self._running.pop(task.id, None)
        return proc.returncode, timed_out

    def _record(self, row: dict) -> None:
        with self._lock:
            with open(self.out / "results.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            self.progress.task_done(row, len(self._running))


class _SetupFailed(Exception):
    pass


def _row_from_child(code: int, stdout: str, stderr: str, timed_out: bool, timeout: float) -> dict:
    result = _parse_json(stdout)
    usage = result.get("usage") or {}
    row = {
        "stop_reason": result.get("stop_reason", "crashed"), "success": code == 0 and bool(result),
        "exit_code": code, "steps": result.get("steps", 0), "tokens": usage.get("total_tokens", 0),
        "cost_usd": result.get("cost_usd", 0.0), "branch": result.get("branch"), "commit": result.get("commit"),
        "run_dir": result.get("run_dir"), "error": result.get("error"),
    }
    if timed_out:
        row.update(stop_reason="timeout", success=False, error=f"killed after its {timeout:g}s timeout")
    elif not result:
        row["error"] = f"exit code {code}, no result on stdout; stderr tail: {stderr[-1500:]}"
    return row


def _parse_json(text: str) -> dict:
    """The run result: the whole stdout, or else its last line."""
    for candidate in (text, (text.strip().splitlines() or [""])[-1]):
        try:
            value = json.loads(candidate)
            return value if isinstance(value, dict) else {}
        except ValueError:
            continue
    return {}


def _kill_groups(procs: list[subprocess.Popen]) -> None:
    """SIGINT first (a run records its stop), then SIGKILL for whatever is left of each group after a grace period."""
    for sig in (signal.SIGINT, signal.SIGKILL):
        for proc in procs:
            kill_group(proc.pid, sig)
        if sig == signal.SIGINT:
            grace_end = time.monotonic() + KILL_GRACE_S
            while time.monotonic() < grace_end and any(p.poll() is None for p in procs):
                time.sleep(0.05)
    for proc in procs:
        proc.wait()


def run_batch(tasks_file: Path, out: Path | None, workers: int, task_timeout: float, overrides: list[str],
              config_file: Path | None, resume: bool) -> tuple[list[dict], bool, Path]:
    """Run every task not yet in OUT/results.jsonl; (the tasks' result rows in file order, whether the batch
    completed rather than being interrupted, OUT)."""
    if workers < 1 or task_timeout <= 0:
        raise BatchError("--workers must be at least 1 and --task-timeout positive")
    tasks = load_tasks(tasks_file)
    load_config(None, overrides, config_file)  # a bad -c or --config fails here, not as N crashed tasks
    out = (out or Path(f"{tasks_file.stem}-batch")).resolve()
    previous = read_results(out)
    if previous and not resume:
        raise BatchError(f"{out / 'results.jsonl'} already has results; use --resume to continue, "
                         f"or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    keep_out_of_repos(out, tasks)
    end_with_newline(out / "results.jsonl")
    child_args = [arg for item in overrides for arg in ("-c", item)]
    if config_file:
        child_args += ["--config", str(config_file.resolve())]
    batch = Batch(tasks, out, workers, task_timeout, child_args)
    completed = batch.run({row["id"] for row in previous if "id" in row})
    rows = {row["id"]: row for row in read_results(out)}
    return [rows[t.id] for t in tasks if t.id in rows], completed, out
