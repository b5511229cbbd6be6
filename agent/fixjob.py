"""`glm-agent fix`: make a failing check command pass; the job succeeds only when the check really passes.

Exit codes: 0 the check passes (fixed, or nothing to fix); 4 the check still fails at the end; otherwise as
`glm-agent run` (1 stopped, 2 usage/config/git, 3 API error, 130 interrupted).
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time
from dataclasses import replace
from pathlib import Path

from agent.fixcheck import CANNOT_RUN, CheckRun, FixGate, run_check, time_left

DEFAULT_PROTECTED = ["**/tests/**", "test_*.py", "*_test.py", "conftest.py", ".github/**", ".gitlab-ci.yml", ".ci/**"]
EXIT_CHECK_FAILING = 4
DEFAULT_TIMEOUT = 1800.0  # a CI job must end: without --timeout (or limits.timeout) a fix job gets 30 minutes


class UsageError(Exception):
    """The check command cannot be run at all (exit code 2): no model can fix that."""


def fix(args: argparse.Namespace) -> int:
    from agent.cli import config_from_args
    from agent.gitrepo import open_repo
    from agent.runner import build_client

    config = config_from_args(args)
    if config.limits.timeout is None:
        config = replace(config, limits=replace(config.limits, timeout=DEFAULT_TIMEOUT))
    repo = args.repo.resolve()
    open_repo(repo)  # not a git checkout: a usage error before the check runs
    client = build_client(config)  # no key: an error now, not after a long first check
    try:
        return _fix(args, config, repo, client)
    finally:
        client.close()


def _fix(args: argparse.Namespace, config, repo: Path, client) -> int:
    from agent.cli import report
    from agent.loop import RunResult
    from agent.records import new_run_id
    from agent.runner import Job, run_job

    end = time.monotonic() + config.limits.timeout  # always set: fix() gives a job without one DEFAULT_TIMEOUT
    hidden = config.tools.hidden_env
    before = run_check(args.check, repo, time_left(args.check_timeout, end), hidden)
    if before.passed:
        result = RunResult(stop_reason="nothing_to_fix", summary=f"nothing to fix: `{args.check}` passes",
                           extra=_extra(before, before, 0, []))
        _emit(result, args, before, before, diffstat="")
        return 0
    if before.exit_code in CANNOT_RUN:
        raise UsageError(f"the check command cannot be run (exit {before.exit_code}): {before.output[-500:]}")
    left = end - time.monotonic()
    if left < 1.0:
        return _out_of_time(args, before, config.limits.timeout)
    config = replace(config, limits=replace(config.limits, timeout=left))  # what the first check left of the job
    protected = ([] if args.allow_test_edits else DEFAULT_PROTECTED) + list(args.protect)
    run_id = new_run_id(f"fix {_short(args.check)}")
    gate = FixGate(args.check, repo, args.check_timeout, args.max_attempts, protected=protected, run_id=run_id, end=end,
                   hidden=hidden)
    job = Job(args.task or f"Make the failing check pass: {args.check}", repo, config, template="fix_task.j2",
              template_vars={"check": vars(before), "protected": protected, "max_attempts": args.max_attempts},
              finish_gate=gate, protected=protected, branch=_branch(args, config), run_id=run_id)
    display = None if args.json else _display()
    result = run_job(job, display=display, model=client)
    after = _check_after(result, gate, args, repo, end)
    extra = _extra(before, after, gate.attempts, _test_files(result.files_changed))
    result = replace(result, extra={**result.extra, **extra})
    _rewrite_record(result)
    code = report(result, args.json, display)
    if not args.json:
        print(_check_line(args.check, before, after, gate.attempts))
    _emit(result, args, before, after, diffstat=_diffstat(repo, run_id), printed=True)
    if result.stop_reason in ("interrupted", "api_error"):
        return code
    passes = after is not None and after.passed and result.stop_reason != "check_failed"
    return code if passes else EXIT_CHECK_FAILING


def _out_of_time(args, before: CheckRun, limit: float) -> int:
    """The first check used up the job's time limit: stop before asking GLM anything."""
    from agent.loop import RunResult

    result = RunResult(stop_reason="limit_reached", limit="timeout", extra=_extra(before, None, 0, []),
                       error=f"the check used up the time limit ({limit:g}s) before GLM was asked")
    if not args.json:
        print(f"stop: limit_reached ({result.error})\n{_check_line(args.check, before, None, 0)}")
    _emit(result, args, before, None, diffstat="", printed=not args.json)
    return EXIT_CHECK_FAILING


def _check_line(command: str, before: CheckRun, after: CheckRun | None, attempts: int) -> str:
    now = "was not rerun" if after is None else (
        f"{'passes' if after.passed else 'still fails'} now (exit {after.exit_code}"
        f"{', killed at its time limit' if after.timed_out else ''})")
    was = f"exit {before.exit_code}{', killed at its time limit' if before.timed_out else ''}"
    return f"check `{command}`: failed before ({was}), {now}; finish attempts checked: {attempts}"


def _check_after(result, gate: FixGate, args, repo: Path, end: float) -> CheckRun | None:
    """The check's state at the end: the gate's last run when finish ended the job, else one more run
    (cut short at the job's time limit: a fix job never outlives --timeout by more than a moment)."""
    if result.stop_reason == "interrupted":
        return None
    if result.stop_reason == "finished" or (result.stop_reason == "check_failed" and gate.last is not None):
        return gate.last
    left = time_left(args.check_timeout, end)
    return run_check(args.check, repo, left, gate.hidden) if left > 0 else None  # None: not confirmed, exit 4


def _extra(before: CheckRun, after: CheckRun | None, attempts: int, test_files: list[str]) -> dict:
    return {"check_command": before.command, "check_before": before.as_dict(),
            "check_after": after.as_dict() if after else None, "attempts": attempts,
            "test_files_changed": test_files}


def _test_files(paths: list[str]) -> list[str]:
    from tools.workspace import protected_among

    return protected_among(paths, DEFAULT_PROTECTED)


def _short(check: str) -> str:
    """A readable slug source: "python tests/test_x.py -q" -> "python test_x.py -q"."""
    return " ".join(Path(word).name for word in check.split()[:4])


def _branch(args, config) -> str | None:
    from agent.records import slugify

    if args.no_branch or not config.git.branch:
        return None
    return args.branch or f"glm-agent/fix-{slugify(_short(args.check), 24)}-{secrets.token_hex(2)}"


def _rewrite_record(result) -> None:
    """Add the check results to the run's records (the runner wrote them before the final check)."""
    from agent.records import Recorder

    if not result.run_dir:
        return
    recorder = Recorder(Path(result.run_dir))
    try:
        recorder({"type": "fix", "stop_reason": result.stop_reason, "error": result.error, **result.extra})
        recorder.write_result(result.to_dict())
    finally:
        recorder.close()


def _diffstat(repo: Path, run_id: str) -> str:
    from agent.gitrepo import Git

    git = Git(repo)
    start, end = git.ref_path(run_id, "worktree"), git.ref_path(run_id, "end-worktree")
    if not (git.rev(start) and git.rev(end)):
        return ""
    return git.run("diff", "--stat", start, end, check=False, strip=False).rstrip()


def _emit(result, args, before: CheckRun, after: CheckRun | None, *, diffstat: str, printed: bool = False) -> None:
    """Print (unless the CLI report already did) and write the Markdown summary where asked."""
    if not printed:
        if args.json:
            import json

            print(json.dumps(result.to_dict(), indent=2))
        else:
            print(f"nothing to fix: `{args.check}` passes (exit 0 in {before.duration_s:.1f}s)")
    target = args.summary_md or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    mode = "w" if args.summary_md else "a"  # GitHub expects the step summary file to be appended to
    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with open(target, mode, encoding="utf-8") as handle:
            handle.write(markdown(result, before, after, diffstat) + "\n")
    except OSError as exc:  # the job's outcome stands; only its summary is missing
        print(f"glm-agent fix: could not write the Markdown summary to {target}: {exc}", file=sys.stderr)


def markdown(result, before: CheckRun, after: CheckRun | None, diffstat: str) -> str:
    """The summary for a PR comment or $GITHUB_STEP_SUMMARY: what failed, what changed, check result, cost."""
    passed = after is not None and after.passed
    title = ("nothing to fix" if result.stop_reason == "nothing_to_fix"
             else "check fixed" if passed and result.stop_reason == "finished"
             else "check not rerun" if after is None else "check still failing")
    extra = result.extra
    lines = [f"## glm-agent fix: {title}", "", f"Check: `{before.command}`", "",
             "| | exit code | duration |", "|---|---|---|",
             f"| before | {before.exit_code}{' (timed out)' if before.timed_out else ''} | {before.duration_s:.1f}s |"]
    if after is not None:
        lines.append(f"| after | {after.exit_code}{' (timed out)' if after.timed_out else ''} | {after.duration_s:.1f}s |")
    lines.append("")
    if result.stop_reason != "nothing_to_fix":
        usage = result.usage or {}
        lines += [f"Stop reason: `{result.stop_reason}`; finish attempts checked: {extra.get('attempts', 0)}; "
                  f"steps: {result.steps}; tokens: {usage.get('total_tokens', 0)}; cost: ${result.cost_usd:.4f}"]
        if result.branch or result.commit:
            lines.append(f"Branch: `{result.branch or '-'}`; commit: `{(result.commit or 'none')[:12]}`")
        if result.summary:
            lines += ["", "### What changed", "", result.summary]
        if diffstat:
            lines += ["", "```", diffstat, "```"]
        if extra.get("test_files_changed"):
            lines += ["", "**Test or CI files changed:** " + ", ".join(f"`{p}`" for p in extra["test_files_changed"])]
        if result.error:
            lines += ["", f"Error: {result.error}"]
    output = before.output[-3000:]
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", output)), default=0))
    lines += ["", "<details><summary>What failed (check output before the fix)</summary>", "", fence,
              output, fence, "</details>"]
    return "\n".join(lines)


def _display():
    from agent.display import HumanDisplay

    return HumanDisplay()


def register(subparsers) -> None:
    from agent.cli import add_common_options

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
    if args.max_attempts < 1:
        print("glm-agent fix: --max-attempts must be at least 1", file=sys.stderr)
        return 2
    return fix(args)
