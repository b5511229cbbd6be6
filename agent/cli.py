"""The glm-agent command line: argument parsing, exit codes, and lazy wiring of each subcommand."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from agent import stopping

EXTRA_COMMANDS = ("agent.doctor", "agent.fixjob", "agent.batch", "agent.undo")
EXIT_OK, EXIT_STOPPED, EXIT_USAGE, EXIT_API, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EPILOG = """\
start here:
  glm-agent demo                      offline demo (no key, no network)
  glm-agent doctor                    check the key, endpoint and model
  glm-agent run "TASK" --repo PATH    let GLM do a task (key from ZAI_API_KEY)

`glm-agent COMMAND --help` describes each command."""
RUN_EPILOG = """\
The API key is read from ZAI_API_KEY (never from files or flags).
exit codes: 0 finished, 1 stopped without finishing (limit, stuck, no_action, format_errors,
context_exhausted), 2 usage or config error, 3 API error (key, quota, endpoint, network), 130 interrupted.

examples:
  glm-agent run "Make the failing test in tests/test_cart.py pass" --repo .
  glm-agent run "Add a --version flag" --endpoint coding --max-cost 0.50 --json
  glm-agent run "Fix the typo" --dialect openai --base-url http://gpu-box:8000/v1"""

# flag attribute -> config key; a flag left at None does not override the config files
FLAG_KEYS = {
    "model": "model.name", "base_url": "model.base_url", "dialect": "model.dialect", "endpoint": "model.endpoint",
    "thinking": "model.thinking", "stream": "model.stream", "max_steps": "limits.max_steps",
    "max_cost": "limits.max_cost_usd", "max_tokens": "limits.max_total_tokens", "timeout": "limits.timeout",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    stopping.install()
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("glm-agent: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        code = _error_exit_code(exc)
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
    run.add_argument("task", help="what to do, in plain words")
    add_common_options(run)
    run.set_defaults(handler=_cmd_run)
    demo = sub.add_parser("demo", help="offline demo: fix a failing test in a sample project")
    demo.add_argument("--live", action="store_true", help="use the real GLM-4.6 (needs ZAI_API_KEY)")
    demo.add_argument("--keep", action="store_true", help="keep the temporary demo repository")
    demo.add_argument("--json", action="store_true", help="print only the result as JSON")
    demo.set_defaults(handler=_cmd_demo)
    replay = sub.add_parser("replay", help="re-run a recorded run's tool calls and report differences")
    replay.add_argument("run_dir", type=Path, help=".glm-agent/runs/<run-id>")
    replay.add_argument("--repo", type=Path, help="repository to replay in (default: a fresh clone at the start commit)")
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    replay.set_defaults(handler=_cmd_replay)
    for name in EXTRA_COMMANDS if command not in ("run", "demo", "replay") else ():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Repository, model, budget, git and output options shared by run, fix and batch."""
    parser.add_argument("--repo", type=Path, default=Path("."), metavar="PATH",
                        help="repository, or a folder inside it (default: current folder)")
    parser.add_argument("--model", metavar="NAME", help="model name (default glm-4.6)")
    parser.add_argument("--base-url", metavar="URL",
                        help="API base URL, e.g. a self-hosted vLLM at http://host:8000/v1 (with --dialect openai)")
    parser.add_argument("--dialect", choices=["zai", "openai"], help="wire dialect: zai or openai (vLLM/SGLang)")
    parser.add_argument("--endpoint", choices=["general", "coding", "mainland", "mainland-coding"],
                        help="which Z.ai endpoint when --base-url is not given (default general; coding for a "
                             "GLM Coding Plan key)")
    parser.add_argument("--thinking", action=argparse.BooleanOptionalAction, default=None,
                        help="GLM thinking mode (default: the server's default)")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="stream responses (default on)")
    parser.add_argument("--max-steps", type=int, metavar="N", help="stop after N model calls (default 100)")
    parser.add_argument("--max-cost", type=float, metavar="USD", help="stop when the run has cost this much")
    parser.add_argument("--max-tokens", type=int, metavar="N",
                        help="stop once the run has used N tokens in total (the per-answer limit is "
                             "-c model.max_tokens=N)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="wall-clock limit for the whole run (per request: -c model.timeout=SECONDS)")
    parser.add_argument("--branch", metavar="NAME", help="work branch name (default glm-agent/<task-slug>)")
    parser.add_argument("--no-branch", action="store_true", help="work on the current branch")
    parser.add_argument("--no-commit", action="store_true", help="leave the changes uncommitted")
    parser.add_argument("--json", action="store_true", help="print only the result as JSON on stdout")
    parser.add_argument("-c", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="set a config key, e.g. -c limits.max_steps=30 (repeatable)")
    parser.add_argument("--config", type=Path, metavar="FILE", help="extra config file (TOML), above the repo's own")


def config_from_args(args: argparse.Namespace):
    """The validated Config for these arguments (raises ConfigError)."""
    from agent.config import load_config

    flags = {key: getattr(args, attr, None) for attr, key in FLAG_KEYS.items()}
    if getattr(args, "no_commit", False):
        flags["git.commit"] = False
    if getattr(args, "no_branch", False):
        flags["git.branch"] = False
    return load_config(args.repo.resolve(), args.overrides, args.config, flags)


def branch_from_args(args: argparse.Namespace) -> str | None:
    from agent.runner import AUTO_BRANCH

    return None if args.no_branch else (args.branch or AUTO_BRANCH)


def exit_code(result) -> int:
    """0 finished; 130 interrupted; 3 API error; 1 any other stop."""
    return {"finished": EXIT_OK, "interrupted": EXIT_INTERRUPTED, "api_error": EXIT_API}.get(
        result.stop_reason, EXIT_STOPPED)


def report(result, as_json: bool, display=None) -> int:
    """Print the result (JSON only, or the human summary) and return the exit code; a failure's diagnosis
    also goes to stderr, so `--json` consumers and CI logs see why without parsing stdout."""
    if result.error and result.stop_reason != "finished":
        print(f"glm-agent: {result.stop_reason}: {result.error}", file=sys.stderr)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    elif display is not None:
        display.summary(result)
    return exit_code(result)


def _cmd_run(args: argparse.Namespace) -> int:
    from agent.runner import Job, run_job

    config = config_from_args(args)
    display = None if args.json else _display()
    job = Job(args.task, args.repo, config, branch=branch_from_args(args))
    return report(run_job(job, display=display), args.json, display)


def _cmd_demo(args: argparse.Namespace) -> int:
    from agent.demo import run_demo

    return run_demo(live=args.live, keep=args.keep, as_json=args.json)


def _cmd_replay(args: argparse.Namespace) -> int:
    from agent.replay import replay, render_report

    outcome = replay(args.run_dir, args.repo)
    print(json.dumps(outcome, indent=2) if args.json else render_report(outcome))
    return EXIT_OK if not outcome["differences"] else EXIT_STOPPED


def _display():
    """The live display; it reports retries itself, so the client's own retry log stays quiet."""
    import logging

    from agent.display import HumanDisplay

    logging.getLogger("agent.client").setLevel(logging.ERROR)
    return HumanDisplay()


def _error_exit_code(exc: Exception) -> int | None:
    """Errors the user must fix: config/git/usage -> 2, GLM API (auth, quota, bad request) -> 3."""
    from agent.errors import GLMError

    if isinstance(exc, GLMError):
        return EXIT_API
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"ConfigError", "GitSafetyError", "UndoError", "ReplayError", "UsageError"}:
        return EXIT_USAGE
    return None


if __name__ == "__main__":
    sys.exit(main())
