"""`glm-agent batch`: its arguments and what it prints; the batch itself is glm_agent.batch.runner."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glm_agent.core.stops import EXIT_INTERRUPTED, EXIT_OK, EXIT_STOPPED, EXIT_USAGE


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch", help="run many tasks from a JSONL file, isolated, in parallel",
        description="Run the tasks of TASKS.jsonl ({id, repo, ref?, task, check?} per line), each in its own "
                    "git worktree or clone. Exit 0 all tasks succeeded, 1 some failed, 2 usage error, "
                    "130 interrupted (finished results are kept; continue with --resume).")
    parser.add_argument("tasks", type=Path, metavar="TASKS.jsonl")
    parser.add_argument("--workers", type=int, default=2, help="tasks run at once (default 2)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default ./<tasks name>-batch)")
    parser.add_argument("--resume", action="store_true", help="skip tasks already in OUT/results.jsonl")
    parser.add_argument("--task-timeout", type=float, default=1800.0, metavar="S",
                        help="seconds before a task is killed (default 1800)")
    parser.add_argument("-c", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override passed to every task")
    parser.add_argument("--config", type=Path, default=None, help="config file passed to every task")
    parser.add_argument("--report", nargs="?", const="", default=None, metavar="FILE",
                        help="write the HTML report at the end (default FILE: OUT/report.html), each task's own "
                             "report in reports/ beside it")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from glm_agent.batch.runner import run_batch
    from glm_agent.batch.tasks import BatchError
    from glm_agent.batch.view import summary_table

    try:
        rows, completed, out = run_batch(args.tasks, args.out, args.workers, args.task_timeout, args.overrides,
                                         args.config, args.resume)
    except BatchError as exc:
        print(f"glm-agent batch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(summary_table(rows))
    if args.report is not None:
        _write_report(out, Path(args.report) if args.report else None)
    if not completed:
        print(f"interrupted: finished results kept in {out / 'results.jsonl'}; rerun with --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if all(row.get("success") for row in rows) else EXIT_STOPPED


def _write_report(out: Path, target: Path | None) -> None:
    """--report; a report that cannot be written is said on stderr and changes nothing else."""
    from glm_agent.report import write_report

    try:
        print(f"report: {write_report(out, target)}")
    except (OSError, ValueError) as exc:
        print(f"glm-agent batch: could not write the report: {exc}", file=sys.stderr)
