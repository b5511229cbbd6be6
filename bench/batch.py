"""Batch overhead: N scripted tasks on the GLM stand-in, as N sequential `glm-agent run`s, then as one
`glm-agent batch` with W workers on the local executor and on Ray (a local cluster on 127.0.0.1, started
before and not timed).

    pip install ".[ray]"
    python bench/batch.py            # 40 tasks, 2 workers

Overhead per task = (batch wall time x workers - the sum of the plain runs' times) / tasks: what the batch
runner adds to each task beyond the run itself (checkout, child start-up, result line, scheduling), plus, on a
machine without 2 free cores, the two workers slowing each other down: the 1-worker row shows the runner alone.
The local executor's tasks are worktrees of the repository; Ray's are clones.
Goals (issue 14): at most 0.3 s per task local, at most 1 s per task on Ray. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from glm_agent.testing import Reply, StandIn
from glm_agent.testing.raycluster import LocalRayCluster

KEY = "sk-bench-batch-0123456789"


def creator(body: dict) -> Reply:
    """'create NAME' writes NAME, then finishes: two model turns, one file tool call."""
    name = re.search(r"create (\S+)", body["messages"][1]["content"]).group(1)
    if not any(m.get("role") == "tool" for m in body["messages"]):
        return Reply(tool_calls=[("write_file", {"path": name, "content": f"{name}\n"})])
    return Reply(tool_calls=[("finish", {"summary": f"created {name}"})])


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "bench@example.invalid")
    git(path, "config", "user.name", "bench")
    (path / "README.md").write_text("bench\n")
    git(path, "add", "README.md")
    git(path, "commit", "-qm", "init")
    return path


def sequential(root: Path, repo: Path, tasks: int, base_url: str) -> list[float]:
    """Each task as a plain run in its own clone (made beforehand, not timed)."""
    times = []
    for i in range(tasks):
        work = root / f"plain-{i}"
        git(root, "clone", "-q", str(repo), str(work))
        started = time.monotonic()
        subprocess.run([sys.executable, "-I", "-m", "glm_agent", "run", "--json", "--repo", str(work),
                        "--base-url", base_url, f"create t{i}.txt"], check=True, capture_output=True)
        times.append(time.monotonic() - started)
    return times


def batch(root: Path, repo: Path, tasks: int, workers: int, base_url: str, name: str, *extra: str) -> float:
    lines = [json.dumps({"id": f"t{i}", "repo": str(repo), "task": f"create t{i}.txt"}) for i in range(tasks)]
    tasks_file = root / f"{name}.jsonl"
    tasks_file.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "batch", str(tasks_file), "--out",
                           str(root / f"{name}-out"), "--workers", str(workers), "-c",
                           f"model.base_url={base_url}", *extra], capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} batch failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-ray", action="store_true", help="the local executor only")
    args = parser.parse_args(argv)
    os.environ["ZAI_API_KEY"] = KEY
    with tempfile.TemporaryDirectory(prefix="glm-bench-batch-") as tmp, StandIn(responder=creator) as server:
        root = Path(tmp)
        os.environ["HOME"] = str(root)  # no developer config; Ray's files stay in here
        repo = make_repo(root / "repo")
        plain = sequential(root, repo, args.tasks, server.base_url)
        total = sum(plain)
        rows = [("sequential plain runs", total, None)]
        rows.append(("batch, local executor", batch(root, repo, args.tasks, args.workers, server.base_url, "local"),
                     0.3))
        rows.append(("  the same, 1 worker", batch(root, repo, args.tasks, 1, server.base_url, "local1"), 0.3))
        if not args.no_ray:
            with LocalRayCluster(cpus=args.workers) as cluster:
                rows.append(("batch, Ray (local cluster)", batch(root, repo, args.tasks, args.workers,
                                                                server.base_url, "ray", "--executor", "ray",
                                                                "--ray-address", cluster.address), 1.0))
    print(f"{args.tasks} scripted tasks on the stand-in, {args.workers} workers; a plain run takes "
          f"{total / args.tasks:.2f} s on average; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(f"{'':28}{'wall s':>8}{'vs sequential':>15}{'overhead s/task':>17}{'goal':>7}")
    for name, wall, goal in rows:
        if goal is None:
            print(f"{name:28}{wall:8.1f}{1:14.2f}x")
            continue
        workers = 1 if name.startswith("  the same, 1") else args.workers
        overhead = (wall * workers - total) / args.tasks
        verdict = "ok" if overhead <= goal else "MISSED"
        print(f"{name:28}{wall:8.1f}{total / wall:14.2f}x{overhead:17.2f}{goal:6.1f} {verdict}")


if __name__ == "__main__":
    main()
