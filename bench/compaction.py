"""A long run that must compact: N steps with ~2 KB tool results against a stand-in enforcing a 200K window.

The real job (run_job: git snapshot, the real tools, the GLM client over loopback SSE) runs a scripted model:
step 1 writes a file, then bash commands that print a 2 KB file (every 50th one fails), then finish. The
stand-in answers compaction's summary requests with a summary and refuses prompts over its window with 400 /
1261, like GLM. Printed: whether the run finished, the compactions, the peak prompt, the cached share of the
prompt before and after each compaction, and whether every request after a compaction carried the task message
verbatim. `--config-window` larger than `--window` makes glm-agent learn the window from 1261 refusals only.

    python bench/compaction.py                      # 400 steps, 200K window (about a minute on 2 cores)
    python bench/compaction.py --steps 100 --window 50000 --json out.json
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from glm_agent.config.settings import Config
from glm_agent.core.compaction import is_summary_request
from glm_agent.glm.client import GLMClient
from glm_agent.jobs.records import read_events
from glm_agent.jobs.run import Job, run_job
from glm_agent.testing import Reply, StandIn
from glm_agent.testing.responders import summarizing

TASK = "Run every check script in order and report which ones fail; do not change the checks."
AGENTS_MD = "# Rules\n- Never edit files under checks/.\n- Report failures with their test name.\n"


def make_repo(root: Path, result_bytes: int) -> Path:
    root.mkdir()
    (root / "AGENTS.md").write_text(AGENTS_MD)
    line = "check output line, long enough to look like a test log ......................\n"
    (root / "blob.txt").write_text((line * (result_bytes // len(line) + 1))[:result_bytes])
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "start"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    return root


def script(steps: int):
    """The model: one reply per step, counted; summary requests never reach it (the summarizing wrapper)."""
    state = {"step": 0}

    def reply(body: dict) -> Reply:
        state["step"] += 1
        step = state["step"]
        if step == 1:
            return Reply(tool_calls=[("write_file", {"path": "report.md", "content": "# Report\n"})])
        if step >= steps:
            return Reply(tool_calls=[("finish", {"summary": f"ran {steps - 2} checks"})])
        fail = "; echo 'FAILED checks/test_%d.py::test_it - assert 1 == 2'; exit 1" % step if step % 50 == 0 else ""
        return Reply(content="\n", tool_calls=[("bash", {"command": f"echo check {step}; cat blob.txt{fail}"})])
    return reply


def measure(steps: int, window: int, config_window: int, result_bytes: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="glm-agent-bench-compaction-") as tmp:
        repo = make_repo(Path(tmp) / "repo", result_bytes)
        answered: list[dict] = []
        inner = script(steps)
        responder = summarizing(lambda body: inner(body))

        def recording(body: dict):
            answered.append(body)
            return responder(body)

        config = Config(limits={"max_steps": steps + 10}, context={"window": config_window})
        started = time.monotonic()
        with StandIn(responder=recording, context_window=window) as server:
            with GLMClient(server.base_url, "bench-key-0123456789", max_retries=0) as client:
                result = run_job(Job(TASK, repo, config), model=client)
            usages, refused = list(server.usages), server.ledger.refused
        wall = time.monotonic() - started
        events = list(read_events(Path(result.run_dir)))
    return analyse(result, events, answered, usages, refused, wall, steps, window)


def analyse(result, events, answered, usages, refused, wall, steps, window) -> dict:
    kinds = [("summary" if is_summary_request(b["messages"]) else "step") for b in answered]
    shares = [u["prompt_tokens_details"]["cached_tokens"] / u["prompt_tokens"] for u in usages]
    prompts = [u["prompt_tokens"] for u in usages]
    task_message = answered[0]["messages"][1]["content"]
    summaries = [i for i, kind in enumerate(kinds) if kind == "summary"]
    first = summaries[0] if summaries else len(kinds)
    before = [shares[i] for i in range(1, first) if kinds[i] == "step"]
    # after each summary: the steps up to the next one; the first step after it rebuilds the prefix
    after_first, after_rest, verbatim = [], [], True
    bounds = summaries + [len(kinds)]
    for start, end in zip(bounds, bounds[1:]):
        step_indices = [i for i in range(start + 1, end) if kinds[i] == "step"]
        after_first += [shares[i] for i in step_indices[:1]]
        after_rest += [shares[i] for i in step_indices[1:]]
        verbatim &= all(answered[i]["messages"][1]["content"] == task_message for i in step_indices)
    compaction = [e for e in events if e["type"] == "compaction"]
    step_shares = [share for share, kind in zip(shares, kinds) if kind == "step"]
    marks, pending = [], False  # per answered step request: did a compaction (either stage) come right before it?
    for event in events:  # (a request GLM refused has no response; the compaction it caused counts for the retry)
        if event["type"] == "compaction":
            pending = True
        elif event["type"] == "response":
            marks, pending = marks + [pending], False
    since, any_stage = None, []
    for mark, share in zip(marks, step_shares) if len(marks) == len(step_shares) else ():
        since = 0 if mark else None if since is None else since + 1
        if since is not None and since >= 1:
            any_stage.append(share)
    return {
        "steps": steps, "window": window, "stop_reason": result.stop_reason, "steps_run": result.steps,
        "wall_s": round(wall, 1), "requests_answered": len(answered), "refused_1261": refused,
        "summaries": sum(e["stage"] == "summary" for e in compaction),
        "summaries_after_1261": sum(e["stage"] == "summary" and e["reason"] == "context_too_long" for e in compaction),
        "shortenings": sum(e["stage"] == "shorten" for e in compaction),
        "peak_prompt_tokens": max(prompts), "peak_share_of_window": round(max(prompts) / window, 3),
        "prompt_after_summary_tokens": [prompts[i + 1] for i in summaries if i + 1 < len(prompts)],
        "cached_share_before_first_compaction": _mean(before),
        "cached_share_first_request_after_compaction": _mean(after_first),
        "cached_share_from_second_request_after_compaction": _mean(after_rest),
        "cached_share_from_second_request_after_compaction_min": round(min(after_rest), 4) if after_rest else None,
        "cached_share_from_second_request_after_either_stage_min": round(min(any_stage), 4) if any_stage else None,
        "summary_request_cached_share": _mean([shares[i] for i in summaries]),
        "task_verbatim_in_every_request_after_compaction": verbatim and bool(summaries),
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--window", type=int, default=200_000, help="the stand-in's enforced window (tokens)")
    parser.add_argument("--config-window", type=int, default=None, help="context.window (default: --window)")
    parser.add_argument("--result-bytes", type=int, default=2048, help="size of each tool result")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    figures = measure(args.steps, args.window, args.config_window or args.window, args.result_bytes)
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    goals = {
        "finished": figures["stop_reason"] == "finished",
        "compacted at least once": figures["summaries"] >= 1,
        "task verbatim after every compaction": figures["task_verbatim_in_every_request_after_compaction"],
        "cached share >= 90% from the 2nd request after a compaction":
            (figures["cached_share_from_second_request_after_compaction_min"] or 0) >= 0.9,
    }
    for goal, ok in goals.items():
        print(f"{'PASS' if ok else 'FAIL'}  {goal}")
    if args.json:
        args.json.write_text(json.dumps({**figures, "goals": goals}, indent=2) + "\n")
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
