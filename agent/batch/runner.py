"""`glm-agent batch`: hand the tasks to an executor (local threads or Ray), `workers` at once, and record each
result as it ends; GLM's quota errors pause or stop the batch, its busy errors run a task again later.

results.jsonl gets one line per finished task, appended and flushed; a task cut short by Ctrl-C or by a quota
stop gets none, so `--resume` runs it again.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, TextIO

from glm_agent.batch import outcomes
from glm_agent.batch.tasks import (
    BatchError,
    Task,
    end_with_newline,
    keep_out_of_repos,
    load_tasks,
    read_results,
)
from glm_agent.batch.view import Progress

BUSY_RETRIES = 2  # a task GLM kept answering "busy" runs again this often (at the end of the queue)
COMPLETED, INTERRUPTED, QUOTA = "completed", "interrupted", "quota"


@dataclass
class BatchOptions:
    out: Optional[Path] = None
    workers: int = 2
    task_timeout: float = 1800.0
    overrides: list[str] = field(default_factory=list)
    config_file: Optional[Path] = None
    resume: bool = False
    retry_infra: bool = False
    executor: str = "local"
    ray_address: Optional[str] = None
    max_requests: Optional[int] = None  # default: workers
    quota_wait: float = 1800.0  # the longest pause for a quota reset before the batch stops instead


@dataclass
class BatchRun:
    rows: list[dict]
    state: str  # completed, interrupted or quota
    out: Path
    summary: dict
    quota: Optional[outcomes.Quota] = None


class Batch:
    def __init__(self, tasks: list[Task], out: Path, executor, workers: int, quota_wait: float,
                 stream: Optional[TextIO] = None):
        self.tasks, self.out, self.executor, self.workers = tasks, out, executor, workers
        self.quota_wait, self.stream = quota_wait, stream
        self.quota: Optional[outcomes.Quota] = None  # set when the batch stops for quota
        self.paused_until = 0.0
        self._busy_runs: Counter[str] = Counter()

    def run(self, done_ids: set[str]) -> str:
        """Run the tasks not in `done_ids`: COMPLETED, INTERRUPTED (Ctrl-C) or QUOTA (stopped: resume later)."""
        todo = deque(t for t in self.tasks if t.id not in done_ids)
        self.progress = Progress(total=len(todo), stream=self.stream or sys.stderr)
        try:
            while (todo and not self.quota) or self.executor.running():
                while (todo and not self.quota and self.executor.running() < self.workers
                       and time.time() >= self.paused_until):
                    self.executor.submit(todo.popleft())
                for task, row in self.executor.finished(timeout=0.5):
                    self._ended(task, row, todo)
                self.progress.tick(self.executor.running())
            return QUOTA if self.quota else COMPLETED
        except KeyboardInterrupt:
            self.executor.stop()
            return INTERRUPTED
        finally:
            self.stats = executor_stats(self.executor)  # the request limiter's figures, before it goes away
            self.executor.close()
            self.progress.close()

    def _ended(self, task: Task, row: dict, todo: deque) -> None:
        hit = outcomes.quota(row)
        if hit:  # not the task's failure: it runs again after the reset, or on --resume
            todo.appendleft(task)
            wait = (hit.reset_at - time.time()) if hit.reset_at else None
            if wait is not None and wait <= self.quota_wait:
                self.paused_until = max(self.paused_until, hit.reset_at)
                self.progress.note(f"GLM quota exhausted (code {hit.code}): paused until "
                                   f"{time.strftime('%H:%M:%S', time.localtime(self.paused_until))}")
            elif not self.quota:
                self.quota = hit
                self.progress.note(f"GLM quota exhausted (code {hit.code}): no new tasks; resume later")
            return
        if outcomes.busy(row) and self._busy_runs[task.id] < BUSY_RETRIES:
            self._busy_runs[task.id] += 1
            todo.append(task)
            self.progress.note(f"{task.id}: GLM busy (code {outcomes.error_code(row)}), runs again later")
            return
        if task.patch_base is None:
            row.pop("model_patch", None)
        row["failure"] = outcomes.failure(row)
        with open(self.out / "results.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.progress.task_done(row, self.executor.running())


def make_executor(opts: BatchOptions, out: Path, child_args: list[str]):
    limit = opts.max_requests or opts.workers
    if opts.executor == "ray":
        from glm_agent.batch.ray_executor import (
            RayExecutor,  # Ray is imported only here
        )

        return RayExecutor(out, opts.task_timeout, child_args, opts.workers, limit, opts.ray_address)
    from glm_agent.batch.local import LocalExecutor

    return LocalExecutor(out, opts.task_timeout, child_args, opts.workers, limit)


def start_batch(tasks_file: Path, fmt: str, repo_url: Optional[str], opts: BatchOptions) -> BatchRun:
    """Read the tasks (glm-agent's format, or SWE-bench instances: then OUT/preds.jsonl too) and run them."""
    if fmt == "swebench":
        from glm_agent.batch import swebench

        run = run_batch(swebench.load_instances(tasks_file, repo_url), Path(f"{tasks_file.stem}-batch"), opts)
        swebench.write_preds(run.out, run.rows, opts)
        return run
    if repo_url:
        raise BatchError("--repo-url goes with --format swebench")
    return run_batch(load_tasks(tasks_file), Path(f"{tasks_file.stem}-batch"), opts)


def run_batch(tasks: list[Task], default_out: Path, opts: BatchOptions) -> BatchRun:
    """Run every task not yet in OUT/results.jsonl (all of them again that failed for infrastructure reasons
    with retry_infra); the rows come back in task order."""
    from glm_agent.batch.summary import summarize
    from glm_agent.config.loading import load_config

    if opts.workers < 1 or opts.task_timeout <= 0 or (opts.max_requests is not None and opts.max_requests < 1):
        raise BatchError("--workers and --max-requests must be at least 1 and --task-timeout positive")
    if opts.executor not in ("local", "ray"):
        raise BatchError(f"unknown --executor {opts.executor!r} (local or ray)")
    if opts.retry_infra and not opts.resume:
        raise BatchError("--retry-infra goes with --resume")
    load_config(None, opts.overrides, opts.config_file)  # a bad -c or --config fails here, not as N crashed tasks
    out = (opts.out or default_out).resolve()
    previous = read_results(out)
    if previous and not opts.resume:
        raise BatchError(f"{out / 'results.jsonl'} already has results; use --resume to continue, "
                         f"or choose another --out")
    child_args = [arg for item in opts.overrides for arg in ("-c", item)]
    if opts.config_file:
        child_args += ["--config", str(opts.config_file.resolve())]
    started = time.monotonic()
    executor = make_executor(opts, out, child_args)  # a cluster that cannot be reached is refused before OUT exists
    try:
        out.mkdir(parents=True, exist_ok=True)
        keep_out_of_repos(out, tasks)
        end_with_newline(out / "results.jsonl")
        if opts.retry_infra:
            previous = _drop_infra_failures(out, previous)
    except BaseException:
        executor.close()
        raise
    batch = Batch(tasks, out, executor, opts.workers, opts.quota_wait)
    state = batch.run({row["id"] for row in previous if "id" in row})
    rows = {row["id"]: row for row in read_results(out)}
    ordered = [rows[t.id] for t in tasks if t.id in rows]
    summary = summarize(ordered, len(tasks), time.monotonic() - started, state, batch.stats)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return BatchRun(ordered, state, out, summary, batch.quota)


def executor_stats(executor) -> dict:
    try:
        return executor.stats()
    except Exception:  # stats are a report, never a reason to lose the batch's results
        return {}


def _drop_infra_failures(out: Path, rows: list[dict]) -> list[dict]:
    """results.jsonl without its infrastructure failures (rewritten whole, atomically): those tasks run again."""
    keep = [row for row in rows if (row.get("failure") or outcomes.failure(row)) != "infra"]
    path = out / "results.jsonl"
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(row) + "\n" for row in keep), encoding="utf-8")
    os.replace(tmp, path)
    return keep
