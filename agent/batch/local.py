"""The local executor: tasks on this machine, `workers` at once, each a Worker call in a thread.

The batch's request limit is a Limiter in this process, served to the tasks' children over loopback.
"""
from __future__ import annotations

import queue
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from glm_agent.batch.limiter import Limiter
from glm_agent.batch.slots import ENV_ADDRESS, SlotServer
from glm_agent.batch.tasks import Task
from glm_agent.batch.worker import Worker


class LocalExecutor:
    def __init__(self, out: Path, task_timeout: float, child_args: list[str], workers: int, max_requests: int):
        self.limiter = Limiter(max_requests)
        self._server = SlotServer(self.limiter)
        self._worker = Worker(out, task_timeout, child_args, env={ENV_ADDRESS: self._server.address})
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._done: queue.Queue[tuple[Task, Future]] = queue.Queue()
        self._running = 0

    def submit(self, task: Task) -> None:
        self._running += 1
        future = self._pool.submit(self._worker.run, task)
        future.add_done_callback(lambda f: self._done.put((task, f)))

    def running(self) -> int:
        return self._running

    def finished(self, timeout: float) -> list[tuple[Task, dict]]:
        """The tasks that ended since the last call (waiting up to `timeout` for one), with their rows."""
        ended = []
        try:
            ended.append(self._done.get(timeout=timeout))
            while True:
                ended.append(self._done.get_nowait())
        except queue.Empty:
            pass
        rows = []
        for task, future in ended:
            self._running -= 1
            self.limiter.release_owner(task.slug)
            row = future.result()  # a bug in the worker must not pass silently
            if row is not None:
                rows.append((task, row))
        return rows

    def stop(self) -> None:
        self._worker.stop()

    def stats(self) -> dict:
        return self.limiter.stats()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._server.close()
