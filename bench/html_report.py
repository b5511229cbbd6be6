"""The HTML report of a large run: its size, the time to write it, and the time headless Chromium takes to open it.

A real run against the stand-in (the real loop, tools and record): STEPS bash calls, each printing about
OUTPUT_KB of distinct output, so the record holds STEPS x OUTPUT_KB of tool output; then `glm-agent report`
writes the report and Chromium loads it (--dump-dom: parsed, laid out, its script run), timed against a blank
page so only the report's own cost is counted.

Usage: python bench/html_report.py [--steps 500] [--output-kb 10] [--screenshot FILE.png]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--output-kb", type=int, default=10)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        repo = Path(tmp) / "repo"
        run_dir, run_s = _big_run(repo, args.steps, args.output_kb)
        started = time.perf_counter()
        from glm_agent.report import write_report

        page = write_report(run_dir)
        write_s = time.perf_counter() - started
        record_mb = (run_dir / "trajectory.jsonl").stat().st_size / 1e6
        from glm_agent.jobs.records import read_events

        output = sum(len(e["text"]) for e in read_events(run_dir) if e["type"] == "tool_result")
        print(f"steps: {args.steps}, tool output: {output / 1e6:.1f} MB, "
              f"trajectory.jsonl: {record_mb:.1f} MB (run took {run_s:.1f}s)")
        print(f"report: {page.stat().st_size / 1e6:.2f} MB, written in {write_s:.2f}s")
        if browser is None:
            print("chromium: not installed, no open time")
            return 0
        blank = Path(tmp) / "blank.html"
        blank.write_text("<!DOCTYPE html><title>blank</title>")
        base = min(_load(browser, blank) for _ in range(3))
        opened = min(_load(browser, page) for _ in range(3))
        in_page = min(_in_page_ms(browser, page, Path(tmp)) for _ in range(3))
        print(f"open in headless Chromium: {in_page} ms from navigation to the first frame after load (best of 3); "
              f"the whole browser process with --dump-dom {opened:.2f}s, a blank page {base:.2f}s")
        if args.screenshot:
            _load(browser, page, [f"--screenshot={args.screenshot.resolve()}", "--window-size=1200,1600"])
    return 0


def _big_run(repo: Path, steps: int, output_kb: int) -> tuple[Path, float]:
    from glm_agent.config.settings import Config
    from glm_agent.glm.client import GLMClient
    from glm_agent.jobs.run import Job, run_job
    from glm_agent.testing import Reply, StandIn

    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q",
                    "--allow-empty", "-m", "init"], check=True)
    lines = output_kb * 1000 // 7  # `seq` lines of 7 characters (6 digits and a newline) from step 17 on
    script = [Reply(content=f"Step {i}.", tool_calls=[("bash", {"command": f"seq {(i + 100) * lines} {(i + 101) * lines - 1}"})])
              for i in range(steps - 1)]
    script.append(Reply(tool_calls=[("finish", {"summary": "done"})]))
    config = Config.from_dict({"limits": {"max_steps": steps + 5}, "tools": {"output_limit": output_kb * 2000},
                               "git": {"branch": False}})
    started = time.perf_counter()
    with StandIn(script) as server, GLMClient(server.base_url, "bench-key-000000", max_retries=0) as client:
        result = run_job(Job("A long run", repo, config, branch=None), model=client)
    assert result.steps == steps, result
    return Path(result.run_dir), time.perf_counter() - started


def _load(browser: str, page: Path, action: list[str] | None = None) -> float:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        started = time.perf_counter()
        subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *(action or ["--dump-dom"]),
                        page.resolve().as_uri()], capture_output=True, check=True, timeout=300)
        return time.perf_counter() - started


def _in_page_ms(browser: str, page: Path, tmp: Path) -> int:
    """Navigation start to the first frame drawn after the load event, as the page itself measures it (a copy
    of the report with a timing script appended; the report itself logs nothing)."""
    probe = tmp / "probe.html"
    probe.write_text(page.read_text() + "<script>addEventListener('load', () => requestAnimationFrame(() => "
                     "setTimeout(() => console.log('OPENED ' + Math.round(performance.now())), 0)));</script>")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        proc = subprocess.run([browser, *FLAGS, "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}",
                               "--dump-dom", probe.as_uri()], capture_output=True,
                              text=True, timeout=300)
    return int(proc.stderr.split("OPENED ", 1)[1].split('"', 1)[0])


if __name__ == "__main__":
    sys.exit(main())
