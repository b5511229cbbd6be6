"""What a fix job tells people: the one-line check verdict and the Markdown summary for a PR or $GITHUB_STEP_SUMMARY."""
from __future__ import annotations

import re

from glm_agent.core.result import RunResult
from glm_agent.core.stops import FINISHED, NOTHING_TO_FIX
from glm_agent.fix.check import CheckRun


def check_line(command: str, before: CheckRun, after: CheckRun | None, attempts: int) -> str:
    now = "was not rerun" if after is None else (
        f"{'passes' if after.passed else 'still fails'} now (exit {after.exit_code}"
        f"{', killed at its time limit' if after.timed_out else ''})")
    was = f"exit {before.exit_code}{', killed at its time limit' if before.timed_out else ''}"
    return f"check `{command}`: failed before ({was}), {now}; finish attempts checked: {attempts}"


def markdown(result: RunResult, before: CheckRun, after: CheckRun | None, diffstat: str) -> str:
    """The summary for a PR comment or $GITHUB_STEP_SUMMARY: what failed, what changed, check result, cost."""
    passed = after is not None and after.passed
    title = ("nothing to fix" if result.stop_reason == NOTHING_TO_FIX
             else "check fixed" if passed and result.stop_reason == FINISHED
             else "check not rerun" if after is None else "check still failing")
    extra = result.extra
    lines = [f"## glm-agent fix: {title}", "", f"Check: `{before.command}`", "",
             "| | exit code | duration |", "|---|---|---|",
             f"| before | {before.exit_code}{' (timed out)' if before.timed_out else ''} | {before.duration_s:.1f}s |"]
    if after is not None:
        lines.append(f"| after | {after.exit_code}{' (timed out)' if after.timed_out else ''} | {after.duration_s:.1f}s |")
    sandbox = result.sandbox
    lines += ["", f"Sandbox of the check and the commands: `{sandbox.get('mode')}` ({sandbox.get('reason')})"
                  + ("" if sandbox.get("mode") != "bwrap" or sandbox.get("network") else ", no network"), ""]
    if result.stop_reason != NOTHING_TO_FIX:
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
