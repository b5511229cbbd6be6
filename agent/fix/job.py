"""`glm-agent fix` and `glm-agent run --check`: a job whose finish is accepted only once a check command passes.

fix makes a failing check pass (nothing to do when it passes already; tests and CI files protected); run --check
does its task with the same gate (no protection unless asked, a passing check does not end it early).
Exit codes: 0 the check passes (fixed, or nothing to fix); 4 the check still fails at the end; otherwise as
`glm-agent run` (1 stopped, 2 usage/config/git, 3 API error, 130 interrupted).
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from glm_agent.config.settings import Config
from glm_agent.core.result import RunResult
from glm_agent.core.stops import (
    API_ERROR,
    CHECK_FAILED,
    EXIT_CHECK_FAILING,
    FINISHED,
    INTERRUPTED,
    LIMIT_REACHED,
    NOTHING_TO_FIX,
    UserError,
    exit_code,
)
from glm_agent.fix.check import CANNOT_RUN, CheckRun, FixGate, run_check, time_left

DEFAULT_PROTECTED = ["**/tests/**", "test_*.py", "*_test.py", "conftest.py", ".github/**", ".gitlab-ci.yml", ".ci/**"]
DEFAULT_TIMEOUT = 1800.0  # a CI job must end: without --timeout (or limits.timeout) a fix job gets 30 minutes


class UsageError(UserError):
    """The check command cannot be run at all (exit code 2): no model can fix that."""


@dataclass
class FixJob:
    """What `glm-agent fix` was asked: the check, its limits, and what the agent may not edit."""

    check: str
    repo: Path
    config: Config = field(default_factory=Config)
    task: Optional[str] = None
    check_timeout: float = 600.0
    max_attempts: int = 3
    protect: list[str] = field(default_factory=list)
    allow_test_edits: bool = False
    branch: Optional[str] = None  # None: glm-agent/fix-<slug>-<random> when config.git.branch, else no branch
    output_schema: Optional[dict] = None  # finish must carry a `result` matching it (jobs.output_schema)
    run_mode: bool = False  # run --check: `task` is the job, `branch` as for run_job, the check only gates finish


@dataclass
class FixOutcome:
    """The run's result (check results in `extra`), the check before and after, and the job's exit code."""

    result: RunResult
    before: CheckRun
    after: Optional[CheckRun]
    attempts: int
    diffstat: str = ""
    exit_code: int = 0


def run_fix(job: FixJob, *, display: Any = None, model: Any = None) -> FixOutcome:
    """Run the check; when it fails, let GLM fix the code until it passes or the job's time is up."""
    from glm_agent.git.repo import open_repo
    from glm_agent.jobs.model import build_client

    config = job.config
    if config.limits.timeout is None and not job.run_mode:
        config = replace(config, limits=replace(config.limits, timeout=DEFAULT_TIMEOUT))
    repo = job.repo.resolve()
    open_repo(repo)  # not a git checkout: a usage error before the check runs
    client = model if model is not None else build_client(config)  # no key: an error now, not after a long check
    try:
        return _fix(replace(job, repo=repo, config=config), client, display)
    finally:
        if model is None:
            client.close()


def _fix(job: FixJob, client: Any, display: Any) -> FixOutcome:
    from glm_agent.jobs.records import new_run_id
    from glm_agent.jobs.run import Job, run_job
    from glm_agent.jobs.sandboxing import job_sandbox

    config, repo = job.config, job.repo
    end = time.monotonic() + (config.limits.timeout or float("inf"))  # always set for fix by run_fix
    hidden = config.tools.hidden_env
    sandbox = job_sandbox(config, repo)  # the check runs the repository's code: sandboxed like the bash tool
    before = run_check(job.check, repo, time_left(job.check_timeout, end), hidden, sandbox=sandbox)
    if before.passed and not job.run_mode:
        result = RunResult(stop_reason=NOTHING_TO_FIX, summary=f"nothing to fix: `{job.check}` passes",
                           extra=_extra(before, before, 0, []), sandbox=sandbox.as_dict())
        return FixOutcome(result, before, before, 0)
    if before.exit_code in CANNOT_RUN:
        raise UsageError(f"the check command cannot be run (exit {before.exit_code}): {before.output[-500:]}")
    left = end - time.monotonic()
    if left < 1.0:  # the first check used up the job's time limit: stop before asking GLM anything
        result = RunResult(stop_reason=LIMIT_REACHED, limit="timeout", extra=_extra(before, None, 0, []),
                           sandbox=sandbox.as_dict(),
                           error=f"the check used up the time limit ({config.limits.timeout:g}s) before GLM was asked")
        return FixOutcome(result, before, None, 0, exit_code=EXIT_CHECK_FAILING)
    limits = replace(config.limits, timeout=left if config.limits.timeout else None,  # what the first check left
                     evidence_before_finish=config.limits.evidence_before_finish and job.run_mode)  # fix: the check
    config = replace(config, limits=limits)
    protected = ([] if job.allow_test_edits or job.run_mode else DEFAULT_PROTECTED) + list(job.protect)
    task = job.task if job.run_mode else job.task or f"Make the failing check pass: {job.check}"
    run_id = new_run_id(task if job.run_mode else f"fix {_short(job.check)}")
    gate = FixGate(job.check, repo, job.check_timeout, job.max_attempts, protected=protected, run_id=run_id, end=end,
                   hidden=hidden, sandbox=sandbox)
    facts = {"protected": protected, "max_attempts": job.max_attempts}
    template_vars = ({"gate": {**vars(before), **facts}} if job.run_mode else {"check": vars(before), **facts})
    run = Job(task, repo, config, template="task.j2" if job.run_mode else "fix_task.j2", template_vars=template_vars,
              finish_gate=gate, protected=protected, branch=_branch(job, config), run_id=run_id,
              output_schema=job.output_schema, sandbox=sandbox)
    result = run_job(run, display=display, model=client)
    after = _check_after(result, gate, job, end)
    result = replace(result, extra={**result.extra,
                                    **_extra(before, after, gate.attempts, _test_files(result.files_changed))})
    _rewrite_record(result)
    code = exit_code(result.stop_reason)
    passes = after is not None and after.passed and result.stop_reason != CHECK_FAILED
    if result.stop_reason not in (INTERRUPTED, API_ERROR) and not passes:
        code = EXIT_CHECK_FAILING
    return FixOutcome(result, before, after, gate.attempts, _diffstat(repo, run_id), code)


def _check_after(result: RunResult, gate: FixGate, job: FixJob, end: float) -> CheckRun | None:
    """The check's state at the end: the gate's last run when finish ended the job, else one more run
    (cut short at the job's time limit: a fix job never outlives --timeout by more than a moment)."""
    if result.stop_reason == INTERRUPTED:
        return None
    if result.stop_reason == FINISHED or (result.stop_reason == CHECK_FAILED and gate.last is not None):
        return gate.last
    left = time_left(job.check_timeout, end)
    # None: not confirmed, exit 4
    return run_check(job.check, job.repo, left, gate.hidden, sandbox=gate.sandbox) if left > 0 else None


def _extra(before: CheckRun, after: CheckRun | None, attempts: int, test_files: list[str]) -> dict:
    return {"check_command": before.command, "check_before": before.as_dict(),
            "check_after": after.as_dict() if after else None, "attempts": attempts,
            "test_files_changed": test_files}


def _test_files(paths: list[str]) -> list[str]:
    from glm_agent.tools.workspace import protected_among

    return protected_among(paths, DEFAULT_PROTECTED)


def _short(check: str) -> str:
    """A readable slug source: "python tests/test_x.py -q" -> "python test_x.py -q"."""
    return " ".join(Path(word).name for word in check.split()[:4])


def _branch(job: FixJob, config: Config) -> str | None:
    from glm_agent.jobs.records import slugify

    if job.run_mode:
        return job.branch
    if not config.git.branch:
        return None
    return job.branch or f"glm-agent/fix-{slugify(_short(job.check), 24)}-{secrets.token_hex(2)}"


def _rewrite_record(result: RunResult) -> None:
    """Add the check results to the run's records (the runner wrote them before the final check)."""
    from glm_agent.jobs.records import Recorder

    if not result.run_dir:
        return
    recorder = Recorder(Path(result.run_dir))
    try:
        recorder({"type": "fix", "stop_reason": result.stop_reason, "error": result.error, **result.extra})
        recorder.write_result(result.to_dict())
    finally:
        recorder.close()


def _diffstat(repo: Path, run_id: str) -> str:
    from glm_agent.git.repo import Git

    git = Git(repo)
    start, end = git.ref_path(run_id, "worktree"), git.ref_path(run_id, "end-worktree")
    if not (git.rev(start) and git.rev(end)):
        return ""
    return git.run("diff", "--stat", start, end, check=False, strip=False).rstrip()
