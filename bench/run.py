"""Benchmark entry point: glm-agent vs mini-swe-agent vs a bare httpx loop against a zero-latency GLM stand-in.

    pip install .            # glm-agent itself, from the repository root
    python bench/run.py      # installs mini-swe-agent into bench/.cache once, prints the table, writes JSON

Not part of the test suite. See /README.md (Benchmarks) for what the figures mean.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from statistics import mean, median

from measure import run_once, time_command
from report import summarize, table, verdicts
from subjects import BENCH, build_subjects, mini_versions


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1,10,50", help="step counts N to run (default 1,10,50)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per subject and N; medians are reported")
    parser.add_argument("--subjects", default="glm-agent,mini-swe-agent,floor",
                        help="comma-separated, first one is compared to the others; "
                             "'glm-agent --FLAG ...' adds flags to glm-agent run")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed N=1 runs per subject first (byte-compiling, disk cache)")
    parser.add_argument("--mini-format", choices=("tool", "text"), default="tool",
                        help="mini-swe-agent's protocol: tool = its default mini.yaml (bash tool call), "
                             "text = mini_textbased.yaml (```mswea_bash_command blocks)")
    parser.add_argument("--command", default="true", help="the trivial command run at every step")
    parser.add_argument("--cache", type=Path, default=BENCH / ".cache", help="where mini-swe-agent's venv lives")
    parser.add_argument("--json", type=Path, default=BENCH / "results.json", help="where to write all samples")
    return parser.parse_args(argv)


def _meta(args: argparse.Namespace, cost: dict, loadavg_start: tuple) -> dict:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH, capture_output=True, text=True)
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": head.stdout.strip(), "python": platform.python_version(), "machine": platform.platform(),
            "cpus": os.cpu_count(), "loadavg_start": loadavg_start, "loadavg_end": os.getloadavg(),
            "steps": args.steps, "repeats": args.repeats, "warmup": args.warmup, "mini_format": args.mini_format,
            "command_cost": cost,
            "mini_versions": mini_versions(args.cache) if "mini-swe-agent" in args.subjects else {}}


def measure(subjects: list, steps: list[int], repeats: int, warmup: int, command: str) -> tuple[dict, dict]:
    """All samples per subject, and the command's own cost timed beside every run under the same load."""
    for subject in subjects:
        for _ in range(warmup):
            run_once(subject, 1, command)
    samples: dict[str, list[dict]] = {s.name: [] for s in subjects}
    own: list[tuple[float, float]] = []
    for repeat in range(repeats):  # interleaved, so background load drifts over every subject alike
        for n in steps:
            for subject in subjects:
                own += time_command(f"{command} 1", BENCH, runs=5)
                sample = run_once(subject, n, command)
                samples[subject.name].append(sample)
                status = "FAILED: " + " ".join(sample["error"].split())[-300:] if "error" in sample else "ok"
                print(f"[{repeat + 1}/{repeats}] {subject.name:15} N={n:<3} wall {sample['wall_s']:.2f}s "
                      f"rss {sample['peak_rss_mib']:.0f}MiB {status}", file=sys.stderr, flush=True)
    cost = {"command": command, "wall_s": median(w for w, _ in own), "cpu_s": mean(c for _, c in own)}
    return samples, cost


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    subjects = build_subjects(args.subjects.split(","), args.cache, args.mini_format)
    loadavg_start = os.getloadavg()
    samples, cost = measure(subjects, [int(n) for n in args.steps.split(",")], args.repeats, args.warmup,
                            args.command)
    meta = _meta(args, cost, loadavg_start)
    summaries = {name: summarize(runs, cost) for name, runs in samples.items()}
    goals = verdicts(summaries)
    print(table(summaries))
    print(f"\ncommand `{args.command}` alone: {cost['wall_s'] * 1000:.1f} ms wall, {cost['cpu_s'] * 1000:.1f} ms CPU "
          f"(subtracted); load average {loadavg_start[0]:.1f} -> {meta['loadavg_end'][0]:.1f} on {meta['cpus']} CPUs")
    for goal in goals:
        print(f"{'PASS' if goal['pass'] else 'FAIL'}  {goal['goal']}: {goal['value']:.3g} (limit {goal['limit']:g})")
    args.json.write_text(json.dumps({"meta": meta, "summary": summaries, "goals": goals, "samples": samples}, indent=1))
    print(f"\nall samples: {args.json}")
    return 1 if any(s.get("failed_runs") for s in summaries.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
