"""One task, isolated: a private checkout of its repository, then a `glm-agent run|fix --json` child in its own
process group, killed at the task's timeout. Both executors (local threads, Ray tasks on any node) run this.

A crash or a hang only ends that task. `run` returns the task's result row, or None when the worker was stopped
(Ctrl-C): no row, so `--resume` runs the task again.
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
from pathlib import Path

from glm_agent.batch.slots import ENV_OWNER as OWNER
from glm_agent.batch.tasks import Task, is_url
from glm_agent.tools.shell.procs import kill_group

KILL_GRACE_S = 5.0
CHILD = [sys.executable, "-I", "-m", "glm_agent"]
NOT_REACHABLE = ("with --executor ray the repository must be a git URL or a path every node can reach "
                 "(a shared file system)")


class Worker:
    """Runs tasks one per call (threads may share it); `clone` makes a clone even of a local path (Ray nodes)."""

    def __init__(self, out: Path, task_timeout: float, child_args: list[str], env: dict | None = None,
                 clone: bool = False):
        self.out, self.task_timeout, self.child_args = Path(out), task_timeout, child_args
        self.env, self.clone = env or {}, clone
        self._lock, self._setup_lock = threading.Lock(), threading.Lock()
        self._stopping = threading.Event()
        self._running: dict[str, subprocess.Popen] = {}

    def run(self, task: Task) -> dict | None:
        if self._stopping.is_set():
            return None
        started = time.monotonic()
        logs = self.out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        workdir = self.out / "work" / task.slug
        row = {"id": task.id, "workdir": str(workdir)}
        deadline = started + self.task_timeout
        log = logs / f"{task.slug}.log"
        log.write_bytes(b"")
        try:
            self._prepare(task, workdir, deadline, log)
            row.update(self._child(task, workdir, logs, deadline))
            if task.patch_base is not None and not self._stopping.is_set():
                row["model_patch"] = _patch(workdir, task.patch_base)
        except _SetupFailed as exc:
            row.update(stop_reason="setup_failed", success=False, exit_code=None, error=str(exc))
        if self._stopping.is_set():
            return None
        row["duration_s"] = round(time.monotonic() - started, 2)
        return row

    def stop(self) -> None:
        """Ctrl-C: no new task starts, the running children get SIGINT then SIGKILL; their tasks leave no row."""
        with self._lock:
            self._stopping.set()
            running = list(self._running.values())
        kill_groups(running)

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
        if not is_url(task.repo) and not Path(task.repo).is_dir():
            where = f" on node {os.uname().nodename}; {NOT_REACHABLE}" if self.clone else ""
            raise _SetupFailed(f"the repository folder {task.repo} does not exist{where}")
        if is_url(task.repo) or self.clone:
            self._git(task, ["clone", "-q", "--no-hardlinks", task.repo, str(workdir)], None, deadline, log)
            if task.ref:
                try:  # a commit, a tag, or the default branch
                    self._git(task, ["checkout", "-q", "--detach", task.ref], workdir, deadline, log)
                except _SetupFailed:  # another branch of the remote
                    self._git(task, ["checkout", "-q", "--detach", f"origin/{task.ref}"], workdir, deadline, log)
            return
        source = Path(task.repo)
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
        return row_from_child(code, out_path.read_text(errors="replace"), err_path.read_text(errors="replace"),
                              timed_out, self.task_timeout)

    def _spawn(self, task: Task, command: list[str], cwd: Path | None, out, err, deadline: float) -> tuple[int, bool]:
        """Run one process in its own group until it ends or the task's deadline (then the group is killed)."""
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **self.env, OWNER: task.slug}
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        with self._lock:
            self._running[task.id] = proc
            stopping = self._stopping.is_set()  # checked under the lock the Ctrl-C path kills under
        timed_out = False
        try:
            if stopping:
                kill_groups([proc])
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_groups([proc])
        except BaseException:  # a Ray cancel arrives as KeyboardInterrupt here: the child must not outlive it
            kill_groups([proc])
            raise
        finally:
            with self._lock:
                self._running.pop(task.id, None)
        return proc.returncode, timed_out


class _SetupFailed(Exception):
    pass


def _patch(workdir: Path, base: str) -> str:
    """The agent's change as a diff against `base` (the SWE-bench `model_patch`); the run's records left out."""
    done = subprocess.run(["git", "-C", str(workdir), "diff", "--binary", base, "HEAD", "--", ".",
                           ":(exclude).glm-agent"], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def row_from_child(code: int, stdout: str, stderr: str, timed_out: bool, timeout: float) -> dict:
    result = _parse_json(stdout)
    usage = result.get("usage") or {}
    row = {
        "stop_reason": result.get("stop_reason", "crashed"), "success": code == 0 and bool(result),
        "exit_code": code, "steps": result.get("steps", 0), "tokens": usage.get("total_tokens", 0),
        "prompt_tokens": usage.get("prompt_tokens", 0), "cached_tokens": usage.get("cached_tokens", 0),
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


def kill_groups(procs: list[subprocess.Popen]) -> None:
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
