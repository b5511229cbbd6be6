"""What the sandbox costs per command: the bash tool's call time with the sandbox off and under bubblewrap.

    python bench/sandbox.py [--calls N]

Times `bash` tool calls (`true`) through a real toolset on a temporary repository, one after another as the
model makes them (the next call's bash is started ahead, so most of bubblewrap's start-up overlaps the gap
between calls: measured with no gap, the worst case, and with a 50 ms model turn), and bubblewrap's own start-up (`bwrap ... true`) for
comparison. Prints medians and 90th percentiles in milliseconds.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median, quantiles

from glm_agent.tools import build_toolset
from glm_agent.tools.shell.sandbox import SandboxSettings, open_sandbox


def timed(action, calls: int, gap: float = 0.0) -> list[float]:
    """Milliseconds per call; `gap` seconds (the model's turn) pass untimed before each."""
    times = []
    for _ in range(calls):
        time.sleep(gap)
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(name: str, times: list[float]) -> str:
    return f"{name:<34} median {median(times):6.2f} ms   p90 {quantiles(times, n=10)[-1]:6.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100)
    calls = parser.parse_args().calls
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        sandbox = open_sandbox(SandboxSettings(), repo)
        if not sandbox.active:
            print(f"bubblewrap cannot start here: {sandbox.reason}", file=sys.stderr)
            return 1
        args = json.dumps({"command": "true"})
        for name, chosen in (("bash tool, sandbox off", None), ("bash tool, bubblewrap", sandbox)):
            tools = build_toolset(repo, **({"sandbox": chosen} if chosen else {}))
            tools.dispatch("bash", args)  # the first call starts the one ahead
            print(line(name, timed(lambda: tools.dispatch("bash", args), calls)))
            print(line(f"{name}, 50 ms turns", timed(lambda: tools.dispatch("bash", args), calls, 0.05)))
            tools.close()
        raw = sandbox.wrap(["true"])
        print(line("bwrap start-up alone (bwrap true)", timed(lambda: subprocess.run(raw, check=True), calls)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
