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

from agent.standin import StandIn

from subjects import Subject

TIMEOUT = 300.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class RecordingStandIn(StandIn):
    """The stand-in, also keeping the usage it reported for each request (the cache accounting is its own)."""

    def __init__(self, **options):
        super().__init__(**options)
        self.usages: list[dict] = []

    def _usage(self, body: dict, reply) -> dict:
        usage = super()._usage(body, reply)
        self.usages.append(usage)
        return usage


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

    Each request's arrival is stamped with the clock and the agent's CPU so far, which splits the run into
    start-up (launch -> first request), the step loop (first -> last request: exactly n steps) and exit.
    """
    child: dict[str, int] = {}
    arrivals: list[float] = []
    cpu_at: list[float] = []
    answered: list[float] = []

    def responder(body: dict):
        arrivals.append(time.monotonic())
        cpu_at.append(process_cpu(child["pid"]))
        step = sum(1 for message in body.get("messages", []) if message.get("role") == "assistant")
        reply = subject.reply(step, n, f"{command} {step}")  # numbered: identical repeats would look stuck
        answered.append(time.monotonic())
        return reply

    with tempfile.TemporaryDirectory(prefix="glm-bench-") as tmp, \
            RecordingStandIn(responder=responder, latency=0.0) as server:
        scratch = Path(tmp)
        launch = subject.launch(server, make_repo(scratch / "repo"), task_text(n, command), scratch)
        with open(scratch / "out.log", "wb") as out, open(scratch / "err.log", "wb") as err:
            started = time.monotonic()
            proc = subprocess.Popen(launch.argv, env=launch.env, cwd=launch.cwd,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            child["pid"] = proc.pid
            killer = threading.Timer(TIMEOUT, proc.kill)
            killer.start()
            _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child alone (and its waited-for children)
            ended = time.monotonic()
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        usages = [_usage(server, i) for i in range(len(server.requests))]
        sample = {
            "subject": subject.name, "n": n, "exit_code": proc.returncode, "requests": len(server.requests),
            "wall_s": ended - started, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mib": usage.ru_maxrss / 1024,
            "launch_to_first_s": arrivals[0] - started if arrivals else None,
            "last_to_exit_s": ended - answered[-1] if answered else None,
            "loop_wall_s": arrivals[-1] - arrivals[0] if arrivals else None,
            "loop_cpu_s": cpu_at[-1] - cpu_at[0] if cpu_at else None,
            "step_gaps_s": [arrivals[k + 1] - answered[k] for k in range(len(arrivals) - 1)],
            "request_bytes": [wire_bytes(body) for body in server.requests],
            "prompt_tokens": [u["prompt_tokens"] for u in usages],
            "cached_tokens": [u["cached_tokens"] for u in usages],
        }
        if proc.returncode != 0 or len(server.requests) != n + 1:
            sample["error"] = (scratch / "err.log").read_text(errors="replace")[-2000:] or \
                (scratch / "out.log").read_text(errors="replace")[-2000:]
    return sample


def _usage(server, index: int) -> dict:
    usage = server.usages[index]
    return {"prompt_tokens": usage["prompt_tokens"],
            "cached_tokens": (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)}


def command_cost(command: str, cwd: Path, runs: int = 30) -> dict:
    """Wall (median) and CPU (mean; rusage ticks are coarse) of the trivial command alone, spawned through a shell."""
    walls = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(command, shell=True, cwd=cwd, capture_output=True)
        walls.append(time.monotonic() - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"command": command, "wall_s": sorted(walls)[runs // 2], "cpu_s": cpu / runs}
