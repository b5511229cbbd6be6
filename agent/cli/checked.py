"""The check options `fix` and `run --check` share, and what a checked job prints and writes at its end (the
result, the check line, the Markdown summary); the job itself is glm_agent.fix.job."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from glm_agent.cli.formats import output_format, output_schema, write_report
from glm_agent.cli.output import report
from glm_agent.core.stops import EXIT_USAGE, LIMIT_REACHED, NOTHING_TO_FIX


def add_check_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--check", required=required, metavar="CMD",
                        help="the command that must pass before finish is accepted, e.g. 'pytest -x'")
    parser.add_argument("--max-attempts", type=int, default=3, metavar="N",
                        help="finish attempts checked before the job ends as failed (default 3)")
    parser.add_argument("--check-timeout", type=float, default=600.0, metavar="SECONDS",
                        help="time limit of one check run (default 600)")
    parser.add_argument("--protect", action="append", default=[], metavar="GLOB",
                        help="extra paths the agent may not edit (repeatable)")
    parser.add_argument("--summary-md", type=Path, metavar="FILE",
                        help="write a Markdown summary here (default: append to $GITHUB_STEP_SUMMARY when set)")


def bad_attempts(args: argparse.Namespace, command: str) -> int | None:
    """EXIT_USAGE (after saying why) when --max-attempts is below 1."""
    if args.max_attempts < 1:
        print(f"glm-agent {command}: --max-attempts must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    return None


def finish_checked(outcome, args: argparse.Namespace, display) -> int:
    """Print the outcome, write the Markdown summary (and the HTML report with --report), return the exit code."""
    _print(outcome, args, display)
    _write_summary(outcome, args.summary_md)
    write_report(args, outcome.result.run_dir)
    return outcome.exit_code


def _print(outcome, args: argparse.Namespace, display) -> None:
    from glm_agent.fix.summary import check_line

    result, before, fmt = outcome.result, outcome.before, output_format(args)
    if fmt != "text":  # stdout holds only JSON: the result, or the stream ending with it
        report(result, fmt == "json", display)
    elif result.stop_reason == NOTHING_TO_FIX:
        print(f"nothing to fix: `{args.check}` passes (exit 0 in {before.duration_s:.1f}s, sandbox: "
              f"{result.sandbox['mode']})")
    elif result.stop_reason == LIMIT_REACHED and not result.run_dir:  # the first check used up the time
        print(f"stop: {LIMIT_REACHED} ({result.error})\n{check_line(args.check, before, None, 0)}")
    else:
        report(result, False, display)
        print(check_line(args.check, before, outcome.after, outcome.attempts))


def _write_summary(outcome, summary_md: Path | None) -> None:
    """The Markdown summary to --summary-md, or appended to $GITHUB_STEP_SUMMARY when that is set."""
    from glm_agent.fix.summary import markdown

    target = summary_md or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    mode = "w" if summary_md else "a"  # GitHub expects the step summary file to be appended to
    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with open(target, mode, encoding="utf-8") as handle:
            handle.write(markdown(outcome.result, outcome.before, outcome.after, outcome.diffstat) + "\n")
    except OSError as exc:  # the job's outcome stands; only its summary is missing
        print(f"glm-agent: could not write the Markdown summary to {target}: {exc}", file=sys.stderr)


def run_checked(args: argparse.Namespace, config, display) -> int:
    """`glm-agent run TASK --check CMD`: the run job with fix's gate, summary and exit codes."""
    from glm_agent.cli.options import branch_from_args
    from glm_agent.fix.job import FixJob, run_fix

    refused = bad_attempts(args, "run")
    if refused is not None:
        return refused
    job = FixJob(args.check, args.repo, config, task=args.task, check_timeout=args.check_timeout,
                 max_attempts=args.max_attempts, protect=list(args.protect), branch=branch_from_args(args),
                 run_mode=True, output_schema=output_schema(args))
    return finish_checked(run_fix(job, display=display), args, display)
