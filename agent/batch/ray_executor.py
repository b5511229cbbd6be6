"""The Ray executor: each task a Ray task running the same Worker on whichever node Ray picks, on a clone of the
task's repository there; the batch's request limit is a Ray actor every node's tasks ask through loopback.

Ray is an optional extra (`pip install "glm-agent[ray]"`), imported only here. With no address, or a loopback
one, every Ray address stays on 127.0.0.1 (left alone, Ray advertises the machine's outward address).
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Optional

from glm_agent.batch.limiter import Limiter
from glm_agent.batch.slots import ENV_ADDRESS, SlotServer
from glm_agent.batch.tasks import BatchError, Task
from glm_agent.batch.worker import KILL_GRACE_S, Worker

FORWARDED_ENV = ("ZAI_API_KEY",)  # what a node's tasks need from the driver's environment
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
HALT_POLL_S = 0.5


def _import_ray(address: Optional[str]):
    if _loopback(address):
        # read when ray is first imported: Ray then takes 127.0.0.1 as this node's address, not the outward one
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise BatchError('--executor ray needs Ray: pip install "glm-agent[ray]"') from None
    return ray


class RayExecutor:
    def __init__(self, out: Path, task_timeout: float, child_args: list[str], workers: int, max_requests: int,
                 address: Optional[str] = None):
        self.ray = ray = _import_ray(address)
        env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
        local = {"num_cpus": workers, "include_dashboard": False} if address is None else {}
        if address is not None:
            _probe(address)
        try:
            ray.init(address=address, _node_ip_address="127.0.0.1" if _loopback(address) else None,
                     runtime_env={"env_vars": env}, log_to_driver=False, logging_level=logging.WARNING,
                     configure_logging=True, **local)
        except Exception as exc:  # ConnectionError, RuntimeError, ValueError: the address is wrong or dead
            raise BatchError(f"cannot start or reach the Ray cluster {address or '(local)'}: {exc}") from None
        # a threaded actor: each running task's child may wait in acquire() on its own thread
        self.limiter = ray.remote(Limiter).options(max_concurrency=max(64, 2 * workers)).remote(max_requests)
        self._halt = ray.remote(num_cpus=0)(Halt).remote()
        self._run = ray.remote(num_cpus=1, max_retries=0)(run_on_node)
        self._args = (str(out), task_timeout, child_args, self.limiter, self._halt)
        self._pending: dict = {}  # ObjectRef -> Task

    def submit(self, task: Task) -> None:
        self._pending[self._run.remote(task, *self._args)] = task

    def running(self) -> int:
        return len(self._pending)

    def finished(self, timeout: float) -> list[tuple[Task, dict]]:
        refs = list(self._pending)
        if not refs:
            time.sleep(timeout)
            return []
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        rows = []
        for ref in ready:
            task = self._pending.pop(ref)
            self.limiter.release_owner.remote(task.slug)
            try:
                row = self.ray.get(ref)
            except self.ray.exceptions.RayError as exc:  # the node or its worker died: infrastructure
                row = {"id": task.id, "stop_reason": "crashed", "success": False, "exit_code": None,
                       "error": f"the Ray task failed: {exc}"[:2000]}
            if row is not None:
                rows.append((task, row))
        return rows

    def stop(self) -> None:
        """Cancel the Ray tasks: each sees the halt, stops its child (SIGINT, then SIGKILL) and leaves no row;
        a task that has not ended after the grace period is killed by Ray."""
        self.ray.get(self._halt.set.remote())
        left = list(self._pending)
        if left:
            _, left = self.ray.wait(left, num_returns=len(left), timeout=KILL_GRACE_S + HALT_POLL_S + 5)
        for ref in left:
            self.ray.cancel(ref, force=True)
        self._pending.clear()

    def stats(self) -> dict:
        return self.ray.get(self.limiter.stats.remote(), timeout=10)

    def close(self) -> None:
        self.ray.shutdown()


def _probe(address: str) -> None:
    """Fail fast on an address nothing listens on (ray.init itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise BatchError(f"no Ray cluster at --ray-address {address}: {exc} (start one with `ray start --head`, "
                         f"or leave --ray-address out for a local one)") from None


def _loopback(address: Optional[str]) -> bool:
    return address is None or address.rpartition(":")[0].strip("[]") in LOOPBACK_HOSTS


class _ActorLimiter:
    """The Limiter interface of the SlotServer, forwarded to the batch's Ray actor."""

    def __init__(self, actor):
        import ray

        self.actor, self.ray = actor, ray

    def acquire(self, owner: str) -> None:
        self.ray.get(self.actor.acquire.remote(owner))

    def release(self, owner: str, busy: bool = False) -> None:
        self.actor.release.remote(owner, busy)


class Halt:
    """A Ray actor: set on Ctrl-C; every running task watches it and stops its child."""

    def __init__(self):
        self.halted = False

    def set(self) -> None:
        self.halted = True

    def is_set(self) -> bool:
        return self.halted


def run_on_node(task: Task, out: str, task_timeout: float, child_args: list[str], limiter, halt) -> Optional[dict]:
    """A Ray task: the Worker on this node, a loopback slot server in front of the limiter actor, and a watch
    on the batch's halt (Ctrl-C) that stops the worker's child cleanly."""
    import ray

    if ray.get(halt.is_set.remote()):
        return None
    server = SlotServer(_ActorLimiter(limiter))
    worker = Worker(Path(out), task_timeout, child_args, env={ENV_ADDRESS: server.address}, clone=True)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(HALT_POLL_S):
            if ray.get(halt.is_set.remote()):
                worker.stop()
                return

    threading.Thread(target=watch, name="halt-watch", daemon=True).start()
    # Ray's worker threads block SIGINT, and a child inherits the mask: unblocked, its Ctrl-C path records its stop
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        return worker.run(task)
    except KeyboardInterrupt:  # a plain ray.cancel: the running child was stopped on the way out
        worker.stop()
        return None
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        done.set()
        server.close()
