"""`glm-agent run --resume RUN_ID` and `--continue`: their options and output; the job is glm_agent.jobs.resume."""
from __future__ import annotations

import argparse
import sys

from glm_agent.cli.formats import make_display, output_format, write_report
from glm_agent.cli.options import config_from_args
from glm_agent.cli.output import report
from glm_agent.core.stops import EXIT_USAGE


def add_resume_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", metavar="RUN_ID",
                       help="continue the recorded run RUN_ID (stopped or finished) where it stood; TASK, when "
                            "given, is a follow-up message")
    group.add_argument("--continue", dest="continue_last", action="store_true",
                       help="continue the last run recorded in this repository (like --resume)")


def resume_run(args: argparse.Namespace) -> int:
    """Continue a run from its record: its settings, overridden by this command line's flags and -c keys."""
    from glm_agent.jobs.resume import check_resumable, find_run, resume_job
    from glm_agent.jobs.run import run_job

    clash = next((flag for flag, given in (("--check", args.check), ("--branch", args.branch),
                                           ("--no-branch", args.no_branch)) if given), None)
    if clash:
        print(f"glm-agent run: {clash} cannot be combined with --resume/--continue: a resumed run goes on "
              "on its run's branch, without a check", file=sys.stderr)
        return EXIT_USAGE
    record = find_run(args.repo, args.resume)
    check_resumable(record)
    config = config_from_args(args, recorded=(f"the record of run {record.run_id}", record.config))
    job = resume_job(record, config, args.task)
    display = make_display(args, hidden=config.tools.hidden_env)
    if output_format(args) == "text":
        result = record.result
        print(f"resuming run {record.run_id} ({result.get('stop_reason')} after {result.get('steps', 0)} steps)"
              f" on {result.get('branch') or 'the current branch'}")
    result = run_job(job, display=display)
    code = report(result, output_format(args) == "json", display)
    write_report(args, result.run_dir)
    return code
