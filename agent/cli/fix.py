"""`glm-agent fix`: its arguments; the job is glm_agent.fix.job, its output glm_agent.cli.checked."""
from __future__ import annotations

import argparse

from glm_agent.cli.checked import add_check_options, bad_attempts, finish_checked
from glm_agent.cli.formats import make_display, output_schema
from glm_agent.cli.options import add_common_options, config_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "fix", help="make a failing check command pass (CI fix-ups)",
        description="Run CHECK; if it fails, let GLM fix the code until it passes. finish is accepted only when "
                    "the check passes; the whole job (both checks included) ends within --timeout, 30 minutes "
                    "unless set. Exit 0 check passes (or nothing to fix), 4 check still failing at the end, "
                    "1 stopped, 2 usage/config/git error, 3 API error, 130 interrupted.")
    parser.add_argument("task", nargs="?", default=None, help="extra instructions (optional)")
    add_check_options(parser, required=True)
    parser.add_argument("--allow-test-edits", action="store_true",
                        help="lift the default protection of tests and CI configuration")
    add_common_options(parser)
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from glm_agent.fix.job import FixJob, run_fix

    refused = bad_attempts(args, "fix")
    if refused is not None:
        return refused
    config = config_from_args(args)
    job = FixJob(args.check, args.repo, config, task=args.task, check_timeout=args.check_timeout,
                 max_attempts=args.max_attempts, protect=list(args.protect), allow_test_edits=args.allow_test_edits,
                 branch=args.branch, output_schema=output_schema(args))  # --no-branch is in the config
    display = make_display(args, hidden=config.tools.hidden_env)
    return finish_checked(run_fix(job, display=display), args, display)
