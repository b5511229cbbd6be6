"""Where glm-agent's start-up and exit time goes: imports by package and subprocesses by phase, for one run.

    python bench/startup.py [--steps N] [--runs R]

Runs `glm-agent run` against the zero-latency stand-in with `-X importtime` and an audit hook (public `import`
and `subprocess.Popen` events, stamped with the system-wide monotonic clock), then prints the import time per
top-level package and the subprocesses, each split into before the first request, during the steps and after
the last response. Diagnostic only: -X importtime and the hook slow the run a little, so take times from run.py.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from statistics import median

from measure import RecordingStandIn, make_repo, scripted, task_text
from subjects import base_env, tool_reply

PHASES = ("before the first request", "during the steps", "after the last response")
HOOK = """
import atexit, json, os, sys, time
_events = []
def _hook(event, args):
    if event == "subprocess.Popen":
        _events.append((event, time.monotonic(), [str(a) for a in list(args[1])[:8]]))
    elif event == "import":
        _events.append((event, time.monotonic(), args[0]))
sys.addaudithook(_hook)
atexit.register(lambda: open(os.environ["BENCH_AUDIT_LOG"], "w").write(json.dumps(_events)))
from glm_agent.cli.main import main
sys.exit(main())
"""


def one_run(steps: int) -> dict:
    """Import self-times per phase and package (ms) and the subprocesses per phase, from one audited run."""
    with tempfile.TemporaryDirectory(prefix="glm-bench-") as tmp, \
            RecordingStandIn(responder=scripted(tool_reply, steps, "true"), agent_cpu=lambda: 0.0) as server:
        scratch = Path(tmp)
        repo = make_repo(scratch / "repo")
        env = {**base_env(scratch), "BENCH_AUDIT_LOG": str(scratch / "audit.json")}
        argv = [sys.executable, "-X", "importtime", "-c", HOOK, "run", task_text(steps, "true"), "--repo", str(repo),
                "--base-url", server.base_url, "--json", "--max-steps", "1000"]
        done = subprocess.run(argv, env=env, cwd=repo, capture_output=True, text=True)
        if done.returncode != 0 or len(server.started) != steps + 1:
            raise SystemExit(f"glm-agent run failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        events = json.loads((scratch / "audit.json").read_text())
        first, last = server.started[0], server.ended[-1]

    def phase(stamp: float) -> str:
        return PHASES[0] if stamp < first else PHASES[1] if stamp < last else PHASES[2]

    imported = {name: phase(stamp) for kind, stamp, name in reversed(events) if kind == "import"}  # first import
    imports: dict[str, dict[str, float]] = {name: defaultdict(float) for name in PHASES}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own, _, name = line[len("import time:"):].split("|")
            name = name.strip()
            imports[imported.get(name, PHASES[0])][name.split(".")[0]] += int(own) / 1000
    phases = defaultdict(list)
    for kind, stamp, argv in events:
        if kind == "subprocess.Popen":
            phases[phase(stamp)].append(_short(argv))
    return {"imports": imports, "phases": phases}


def _short(args: list[str]) -> str:
    """`git -c k=v rev-parse --git-path X` -> `git rev-parse --git-path`: the program and its first two words."""
    words = [Path(args[0]).name]
    rest = iter(args[1:])
    for word in rest:
        if word == "-c" and words == ["git"]:  # git's own -c key=value options
            next(rest, None)
        else:
            words.append(word)
    return " ".join(words[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1, help="command steps in the run (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs; import times are medians (default 3)")
    args = parser.parse_args(argv)
    one_run(args.steps)  # warm-up: .pyc files, disk cache
    runs = [one_run(args.steps) for _ in range(args.runs)]
    for phase in PHASES:
        packages = {name for run in runs for name in run["imports"][phase]}
        times = sorted(((median(run["imports"][phase].get(name, 0.0) for run in runs), name) for name in packages),
                       reverse=True)
        print(f"import self-time {phase}, by top-level package, median of {args.runs} runs "
              f"(total {sum(t for t, _ in times):.0f} ms):")
        for ms, name in times[:12]:
            print(f"  {ms:7.1f} ms  {name}")
    for phase in PHASES:
        commands = runs[-1]["phases"].get(phase, [])
        print(f"\nsubprocesses {phase}: {len(commands)}")
        for command, count in Counter(commands).most_common(12):
            print(f"  {count:3d} x {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
