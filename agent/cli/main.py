"""The glm-agent command line: the parser, the run, demo and replay commands, and the exit code of every error.

Commands other than run, demo and replay are registered from their own modules (cli.fix, cli.batch, cli.undo,
cli.doctor), imported only when the command line may need them: a run pays for none of them before its first
request.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from glm_agent.cli.checked import add_check_options
from glm_agent.cli.formats import (
    add_output_options,
    make_display,
    output_format,
    output_schema,
    write_report,
)
from glm_agent.cli.options import add_common_options, branch_from_args, config_from_args
from glm_agent.cli.output import error_exit_code, report
from glm_agent.cli.resume import add_resume_options
from glm_agent.core import signals
from glm_agent.core.stops import EXIT_INTERRUPTED, EXIT_OK, EXIT_STOPPED, EXIT_USAGE

EPILOG = """\
start here:
  glm-agent demo                      offline demo (no key, no network)
  glm-agent doctor                    check the key, endpoint and model
  glm-agent run "TASK" --repo PATH    let GLM do a task (key from ZAI_API_KEY)

`glm-agent COMMAND --help` describes each command."""
RUN_EPILOG = """\
The API key is read from ZAI_API_KEY (never from files or flags).
exit codes: 0 finished, 1 stopped without finishing (limit, stuck, no_action, format_errors,
context_exhausted), 2 usage or config error, 3 API error (key, quota, endpoint, network), 130 interrupted;
with --check also 4: the check still fails at the end.

examples:
  glm-agent run "Make the failing test in tests/test_cart.py pass" --repo .
  glm-agent run "Add a --json flag to the CLI" --check "pytest -x -q"
  glm-agent run --continue "Also update the README"     (go on with the last run here)
  glm-agent run "Add a --version flag" --endpoint coding --max-cost 0.50 --json
  glm-agent run "Fix the lint errors" --output-format stream-json --report
  glm-agent run "Fix the typo" --dialect openai --base-url http://gpu-box:8000/v1"""



def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    signals.install()
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("glm-agent: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        code = error_exit_code(exc)
        if code is None:
            raise
        print(f"glm-agent: error: {exc}", file=sys.stderr)
        return code


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every subcommand; when `command` names one of run/demo/replay, the others' modules are not imported
    (they cost start-up time that a run pays before its first request)."""
    parser = argparse.ArgumentParser(
        prog="glm-agent", description="A GLM-4.6 coding agent for git repositories.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="give GLM a task to do in a repository", epilog=RUN_EPILOG,
                         description="Give GLM a task: it works on a new branch, commits its changes when it calls\n"
                                     "finish, and never loses your uncommitted work.",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("task", nargs="?", help="what to do, in plain words (with --resume/--continue: a follow-up)")
    add_common_options(run)
    add_check_options(run, required=False)
    add_resume_options(run)
    run.set_defaults(handler=_cmd_run)
    demo = sub.add_parser("demo", help="offline demo: fix a failing test in a sample project")
    demo.add_argument("--live", action="store_true", help="use the real GLM-4.6 (needs ZAI_API_KEY)")
    demo.add_argument("--keep", action="store_true", help="keep the temporary demo repository")
    add_output_options(demo, schema=False)
    demo.set_defaults(handler=_cmd_demo)
    replay = sub.add_parser("replay", help="re-run a recorded run's tool calls and report differences")
    replay.add_argument("run_dir", type=Path, help=".glm-agent/runs/<run-id>")
    replay.add_argument("--repo", type=Path, help="repository to replay in (default: a fresh clone at the start commit)")
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    replay.set_defaults(handler=_cmd_replay)
    if command not in ("run", "demo", "replay"):
        from glm_agent.cli import batch, doctor, fix, report, undo

        for module in (doctor, fix, batch, undo, report):
            module.register(sub)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from glm_agent.cli.checked import run_checked
    from glm_agent.cli.resume import resume_run
    from glm_agent.jobs.run import Job, run_job

    if args.resume or args.continue_last:
        return resume_run(args)
    if not args.task:
        print("glm-agent run: a task is required (or --resume RUN_ID / --continue to go on with a run)",
              file=sys.stderr)
        return EXIT_USAGE
    config = config_from_args(args)
    display = make_display(args, hidden=config.tools.hidden_env)
    if args.check:
        return run_checked(args, config, display)
    job = Job(args.task, args.repo, config, branch=branch_from_args(args), output_schema=output_schema(args))
    result = run_job(job, display=display)
    code = report(result, output_format(args) == "json", display)
    write_report(args, result.run_dir)
    return code


def _cmd_demo(args: argparse.Namespace) -> int:
    from glm_agent.jobs.demo import TASK, demo_diff, demo_repository, run_demo

    text = output_format(args) == "text"
    with demo_repository(keep=args.keep) as repo:
        display = make_display(args, show_reasoning=True)
        if text:
            model = "GLM-4.6 (live)" if args.live else "offline GLM stand-in, recorded turns"
            print(f"demo repository: {repo}\ntask: {TASK}\nmodel: {model}\n")
        result = run_demo(repo, live=args.live, display=display)
        code = report(result, output_format(args) == "json", display)
        write_report(args, result.run_dir, None if args.keep else Path("glm-agent-demo-report.html"))
        if text:
            print("\nThe change:\n" + demo_diff(repo))
            print(f"\n(kept: {repo})" if args.keep else
                  "\n(the demo repository is temporary; add --keep to look around in it)")
    return code


def _cmd_replay(args: argparse.Namespace) -> int:
    from glm_agent.jobs.replay import render_report, replay

    outcome = replay(args.run_dir, args.repo)
    print(json.dumps(outcome, indent=2) if args.json else render_report(outcome))
    return EXIT_OK if not outcome["differences"] else EXIT_STOPPED
