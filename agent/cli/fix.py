"""`glm-agent fix`: its arguments and what it prints and writes (the result, the check line, the Markdown summary);
the job itself is glm_agent.fix.job."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from glm_agent.cli.formats import (
    make_display,
    output_format,
    output_schema,
    write_report,
)
from glm_agent.cli.options import add_common_options, config_from_args
from glm_agent.cli.output import report
from glm_agent.core.stops import EXIT_USAGE, LIMIT_REACHED, NOTHING_TO_FIX


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "fix", help="make a failing check command pass (CI fix-ups)",
        description="Run CHECK; if it fails, let GLM fix the code until it passes. finish is accepted only when "
                    "the check passes; the whole job (both checks included) ends within --timeout, 30 minutes "
                    "unless set. Exit 0 check passes (or nothing to fix), 4 check still failing at the end, "
                    "1 stopped, 2 usage/config/git error, 3 API error, 130 interrupted.")
    parser.add_argument("task", nargs="?", default=None, help="extra instructions (optional)")
    parser.add_argument("--check", required=True, metavar="CMD", help="the command that must pass, e.g. 'pytest -x'")
    parser.add_argument("--max-attempts", type=int, default=3, metavar="N",
                        help="finish attempts checked before the job ends as failed (default 3)")
    parser.add_argument("--check-timeout", type=float, default=600.0, metavar="SECONDS",
                        help="time limit of one check run (default 600)")
    parser.add_argument("--protect", action="append", default=[], metavar="GLOB",
                        help="extra paths the agent may not edit (repeatable)")
    parser.add_argument("--allow-test-edits", action="store_true",
                        help="lift the default protection of tests and CI configuration")
    parser.add_argument("--summary-md", type=Path, metavar="FILE",
                        help="write a Markdown summary here (default: append to $GITHUB_STEP_SUMMARY when set)")
    add_common_options(parser)
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from glm_agent.fix.job import FixJob, run_fix

    if args.max_attempts < 1:
        print("glm-agent fix: --max-attempts must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    config = config_from_args(args)
    job = FixJob(args.check, args.repo, config, task=args.task, check_timeout=args.check_timeout,
                 max_attempts=args.max_attempts, protect=list(args.protect), allow_test_edits=args.allow_test_edits,
                 branch=args.branch, output_schema=output_schema(args))  # --no-branch is in the config
    display = make_display(args, hidden=config.tools.hidden_env)
    outcome = run_fix(job, display=display)
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
        print(f"glm-agent fix: could not write the Markdown summary to {target}: {exc}", file=sys.stderr)
