"""`glm-agent batch`: its arguments and what it prints; the batch itself is glm_agent.batch.runner."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glm_agent.core.stops import (
    EXIT_API,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STOPPED,
    EXIT_USAGE,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch", help="run many tasks from a JSONL file, isolated, in parallel (here or on Ray)",
        description="Run the tasks of TASKS.jsonl ({id, repo, ref?, task, check?} per line, or SWE-bench "
                    "instances with --format swebench), each in its own git worktree or clone. Exit 0 all tasks "
                    "succeeded, 1 some failed, 2 usage error, 3 stopped for GLM quota (resume later with "
                    "--resume), 130 interrupted (finished results are kept; continue with --resume).")
    parser.add_argument("tasks", type=Path, metavar="TASKS.jsonl")
    parser.add_argument("--workers", type=int, default=2, help="tasks run at once (default 2)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default ./<tasks name>-batch)")
    parser.add_argument("--resume", action="store_true", help="skip tasks already in OUT/results.jsonl")
    parser.add_argument("--retry-infra", action="store_true",
                        help="with --resume: run again the tasks that failed for infrastructure reasons")
    parser.add_argument("--task-timeout", type=float, default=1800.0, metavar="S",
                        help="seconds before a task is killed (default 1800)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help='where tasks run: this machine, or Ray (pip install "glm-agent[ray]")')
    parser.add_argument("--ray-address", default=None, metavar="ADDR",
                        help="the Ray cluster to use (default: start a local one)")
    parser.add_argument("--max-requests", type=int, default=None, metavar="N",
                        help="model requests in flight for the whole batch (default: --workers)")
    parser.add_argument("--quota-wait", type=float, default=1800.0, metavar="S",
                        help="pause up to S seconds for a GLM quota reset, else stop (default 1800)")
    parser.add_argument("--format", choices=("tasks", "swebench"), default="tasks", dest="fmt",
                        help="the input: glm-agent tasks, or SWE-bench instances (writes OUT/preds.jsonl)")
    parser.add_argument("--repo-url", default=None, metavar="TEMPLATE",
                        help="SWE-bench: where each repository is, e.g. https://github.com/{repo}.git or "
                             "/mirrors/{owner}__{name}")
    parser.add_argument("-c", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override passed to every task")
    parser.add_argument("--config", type=Path, default=None, help="config file passed to every task")
    parser.add_argument("--report", nargs="?", const="", default=None, metavar="FILE",
                        help="write the HTML report at the end (default FILE: OUT/report.html), each task's own "
                             "report in reports/ beside it")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from glm_agent.batch.runner import COMPLETED, INTERRUPTED, BatchOptions, start_batch
    from glm_agent.batch.summary import render
    from glm_agent.batch.tasks import BatchError
    from glm_agent.batch.view import summary_table

    try:
        opts = BatchOptions(out=args.out, workers=args.workers, task_timeout=args.task_timeout,
                            overrides=args.overrides, config_file=args.config, resume=args.resume,
                            retry_infra=args.retry_infra, executor=args.executor, ray_address=args.ray_address,
                            max_requests=args.max_requests, quota_wait=args.quota_wait)
        run = start_batch(args.tasks, args.fmt, args.repo_url, opts)
    except BatchError as exc:
        print(f"glm-agent batch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(summary_table(run.rows))
    print(render(run.summary))
    if args.report is not None:
        _write_report(run.out, Path(args.report) if args.report else None)
    if run.state == INTERRUPTED:
        print(f"interrupted: finished results kept in {run.out / 'results.jsonl'}; rerun with --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if run.state != COMPLETED:
        print(f"stopped: GLM quota exhausted ({run.quota.message}); {run.summary['not_run']} tasks not run. "
              f"Resume later: the same command with --resume", file=sys.stderr)
        return EXIT_API
    return EXIT_OK if all(row.get("success") for row in run.rows) else EXIT_STOPPED


def _write_report(out: Path, target: Path | None) -> None:
    """--report; a report that cannot be written is said on stderr and changes nothing else."""
    from glm_agent.report import write_report

    try:
        print(f"report: {write_report(out, target)}")
    except (OSError, ValueError) as exc:
        print(f"glm-agent batch: could not write the report: {exc}", file=sys.stderr)
