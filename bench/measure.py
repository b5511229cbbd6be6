"""One measured run: a fresh stand-in and git repo, one agent subprocess, its timings, rusage and requests."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from glm_agent.testing import Reply, StandIn
from subjects import Subject

TIMEOUT = 300.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class RecordingStandIn(StandIn):
    """The stand-in, also stamping each request's handling (start, end, agent CPU); `usages` is the stand-in's own.

    Handling starts once the request has arrived and ends once the whole response (every SSE frame) is written,
    so the time between one request's end and the next one's start is the agent's alone.
    """

    def __init__(self, *, agent_cpu, **options):
        super().__init__(**options)
        self.agent_cpu = agent_cpu  # () -> CPU seconds the agent has used so far
        self.started: list[float] = []
        self.cpu: list[float] = []
        self.ended: list[float] = []

    def serve(self, h) -> None:
        self.started.append(time.monotonic())
        self.cpu.append(self.agent_cpu())
        try:
            super().serve(h)
        finally:
            self.ended.append(time.monotonic())


def scripted(reply: Callable[[int, int, str], Reply], n: int, command: str) -> Callable[[dict], Reply]:
    """The stand-in's responder for `n` command steps, then the end; the step is the number of the agent's turns
    so far, and the commands are numbered (identical repeats would look stuck)."""
    def responder(body: dict) -> Reply:
        step = sum(1 for message in body.get("messages", []) if message.get("role") == "assistant")
        return reply(step, n, f"{command} {step}")

    return responder


def task_text(n: int, command: str) -> str:
    return f"Benchmark: run `{command} K` for K = 0..{n - 1} with the bash tool, one call per step, then finish."


def make_repo(path: Path) -> Path:
    """A tiny committed git repository for the agent to work in."""
    path.mkdir(parents=True)
    (path / "README.md").write_text("bench repo\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "."], ["git", "commit", "-q", "-m", "init"]):
        subprocess.run(argv, cwd=path, env=env, check=True)
    return path


def wire_bytes(body: dict) -> int:
    """Size of a request body, re-serialised compactly so every client's spacing choices count the same."""
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


def process_cpu(pid: int) -> float:
    """CPU seconds of a live process plus its reaped children (utime+stime+cutime+cstime of /proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def run_once(subject: Subject, n: int, command: str) -> dict:
    """Launch the subject against a zero-latency stand-in scripted for `n` command steps; return one sample.

    The stand-in's stamps split the run into start-up (launch -> first request), n steps (first -> last
    request, of which the agent's own share is the time between a response's end and the next request)
    and exit (last response -> process gone).
    """
    child: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="glm-bench-") as tmp, \
            RecordingStandIn(responder=scripted(subject.reply, n, command),
                             agent_cpu=lambda: process_cpu(child["pid"])) as server:
        scratch = Path(tmp)
        launch = subject.launch(server, make_repo(scratch / "repo"), task_text(n, command), scratch)
        with open(scratch / "out.log", "wb") as out, open(scratch / "err.log", "wb") as err:
            launched = time.monotonic()
            proc = subprocess.Popen(launch.argv, env=launch.env, cwd=launch.cwd,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            child["pid"] = proc.pid
            killer = threading.Timer(TIMEOUT, proc.kill)
            killer.start()
            _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child alone (and its waited-for children)
            exited = time.monotonic()
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        started, ended, cpu, count = server.started, server.ended, server.cpu, len(server.started)
        sample = {
            "subject": subject.name, "n": n, "exit_code": proc.returncode, "requests": count,
            "wall_s": exited - launched, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mib": usage.ru_maxrss / 1024,
            "launch_to_first_s": started[0] - launched if count else None,
            "last_to_exit_s": exited - ended[-1] if count else None,
            "loop_wall_s": started[-1] - started[0] if count else None,
            "loop_cpu_s": cpu[-1] - cpu[0] if count else None,
            "step_gaps_s": [started[k + 1] - ended[k] for k in range(count - 1)],
            "server_s": [end - start for start, end in zip(started, ended)],
            "request_bytes": [wire_bytes(body) for body in server.requests],
            "prompt_tokens": [u["prompt_tokens"] for u in server.usages],
            "cached_tokens": [u["prompt_tokens_details"]["cached_tokens"] for u in server.usages],
        }
        if proc.returncode != 0 or count != n + 1:
            sample["error"] = (scratch / "err.log").read_text(errors="replace")[-2000:] or \
                (scratch / "out.log").read_text(errors="replace")[-2000:]
    return sample


def time_command(command: str, cwd: Path, runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) of the trivial command alone, spawned through a shell like the floor does, `runs` times.

    CPU is averaged over the batch: rusage is too coarse for one short child.
    """
    walls = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(command, shell=True, cwd=cwd, capture_output=True)
        walls.append(time.monotonic() - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / runs
    return [(wall, cpu) for wall in walls]
