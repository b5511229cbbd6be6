"""One job end to end: the start snapshot, run records, toolset, client and loop, wired together and always closed."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional

from glm_agent.config.settings import Config
from glm_agent.core import signals
from glm_agent.core.loop import Agent
from glm_agent.core.result import RunResult
from glm_agent.core.resumed import Carried
from glm_agent.core.stops import CRASHED, FINISHED, INTERRUPTED, INTERRUPTED_BY_USER
from glm_agent.jobs.background import InBackground
from glm_agent.jobs.branches import AUTO_BRANCH, work_branch
from glm_agent.jobs.context import agents_md, task_facts
from glm_agent.jobs.model import build_client
from glm_agent.jobs.records import RUNS_DIR, Recorder, new_run_id, secret_values
from glm_agent.jobs.sandboxing import copy_when_unsandboxed, job_sandbox
from glm_agent.tools.shell.sandbox import Sandbox


@dataclass
class Job:
    """What to do and where; `branch` None stays on the current branch, the default makes glm-agent/<slug>."""

    task: str
    repo: Path
    config: Config = field(default_factory=Config)
    template: str = "task.j2"
    template_vars: dict = field(default_factory=dict)
    finish_gate: Optional[Callable[[str], Optional[str]]] = None
    protected: list[str] = field(default_factory=list)
    branch: Optional[str] = AUTO_BRANCH
    run_id: Optional[str] = None
    output_schema: Optional[dict] = None  # a checked JSON Schema (jobs.output_schema): finish must carry a `result`
    sandbox: Optional[Sandbox] = None  # None: decided from config.sandbox when the job starts
    tools: list = field(default_factory=list)  # custom tools (glm_agent.tool), offered after the built-in ones
    prompts: Optional[Path] = None  # a folder of .j2 files replacing built-in templates (default: config's)
    resumes: Optional[str] = None  # the run id this job continues (glm_agent.jobs.resume), with what it carries:
    carried: Optional[Carried] = None


def run_job(job: Job, *, display: Any = None, model: Any = None) -> RunResult:
    """Run the job; `model` replaces the GLM client built from the config (tests, the offline demo).

    A missing key (AuthenticationError) or an unguardable repository (GitSafetyError) raises before
    anything in the repository changes.
    """
    events = _Events(display)
    client = model if model is not None else build_client(job.config, on_retry=events.retry)
    try:
        return _guarded(job, client, events)
    finally:
        if model is None:
            client.close()


class _Events:
    """Where a run's events go: the record (once it exists) and the live display; also the client's retry hook."""

    def __init__(self, display: Any):
        self.display, self.recorder = display, None

    def __call__(self, event: dict) -> None:
        if self.recorder is not None:
            self.recorder(event)
        if self.display is not None:
            self.display.event(event)

    def retry(self, exc: Exception, delay: float) -> None:
        self({"type": "retry", "error": str(exc), "delay_s": round(delay, 2)})


def _guarded(job: Job, client: Any, events: _Events) -> RunResult:
    repo = Path(job.repo).resolve()
    run_id = job.run_id or new_run_id(job.task)
    if job.sandbox is None:  # before anything changes: --sandbox bwrap without bubblewrap stops here
        job = replace(job, sandbox=job_sandbox(job.config, repo))
    guard = recorder = result = None
    try:
        with signals.held() as stopped:  # a Ctrl-C now stops the run right after the start is recorded
            branch = work_branch(job.branch, job.config.git.branch, job.task, repo)
            identity = (job.config.tools.git_user_name, job.config.tools.git_user_email)
            beginning = InBackground("git start", lambda: _begin(job, repo, run_id, branch, identity))
            try:
                _load_first_request_code()
            finally:
                guard = beginning.result()
            copy = copy_when_unsandboxed(job.sandbox, job.config, guard)
            secrets = secret_values(job.config.tools.hidden_env)  # the key names and the configured extra ones
            recorder = events.recorder = Recorder(guard.git.root / RUNS_DIR / run_id, redact=secrets)
            events({"type": "start", "run_id": run_id, "task": job.task, "repo": str(guard.git.root),
                    "head": guard.note.get("orig_head"), "branch": guard.branch, "config": job.config.to_dict(),
                    "sandbox": job.sandbox.as_dict(), "outside_copy": copy, **_resumed(job)})
        # a signal held above, or one arriving while the handlers are put back, lands here: inside the try
        if stopped:
            raise KeyboardInterrupt
        result = _run_agent(job, client, guard.git.root, repo, guard.branch, guard.user_changes, events,
                            guard.diff_stat, run_id)
    except KeyboardInterrupt:  # before the loop took over (the loop records its own interruptions)
        if recorder is None:
            raise
        result = RunResult(stop_reason=INTERRUPTED, error=INTERRUPTED_BY_USER, sandbox=job.sandbox.as_dict())
        events({"type": "stop", **result.to_dict("stop_reason", "error", "steps")})
    finally:
        if recorder is not None:
            with signals.deferred():
                result = _finish(job, guard, recorder, result)
    return result


def _resumed(job: Job) -> dict:
    """What a resumed run's start event records of the run it continues."""
    if not job.resumes:
        return {}
    return {"resumed_from": job.resumes, "elapsed_before_s": job.carried.elapsed_s if job.carried else 0.0}


def _begin(job: Job, repo: Path, run_id: str, branch: str | None, identity: tuple[str, str]):
    """The run's start snapshot; a resumed run starts where the run it continues started."""
    if job.resumes:
        from glm_agent.git.continued import continue_snapshot

        return continue_snapshot(repo, run_id, job.resumes, identity=identity)
    from glm_agent.git.snapshot import RunSnapshot

    return RunSnapshot.begin(repo, run_id, branch=branch, identity=identity)


def _load_first_request_code() -> None:
    """Import the tools and compile the system prompt while git takes the start snapshot (its ~30 ms of git
    processes then overlap these imports instead of adding to them). Also why they happen here, with stop signals
    held: a Ctrl-C landing inside a dataclass's generated code (exec) marks CPython's KeyboardInterrupt as
    unhandled even once caught, and the process would then end by SIGINT instead of exit 130."""
    import glm_agent.jobs.plugins  # noqa: F401  (the imports are the point)
    import glm_agent.tools.builtin  # noqa: F401
    from glm_agent.prompts import environment

    environment().get_template("system.j2")


def _run_agent(job: Job, client: Any, root: Path, workdir: Path, branch: str | None,
               user_changes: list[str] | None, events: _Events, diff_stat: Callable[[], str], run_id: str) -> RunResult:
    """`user_changes`: the paths uncommitted when the run began, as the start snapshot found them; `diff_stat`:
    the run's changes since its start, which a compacted conversation shows."""
    from glm_agent.jobs.plugins import plugged_toolset, with_prompts
    from glm_agent.prompts import Templates
    from glm_agent.tools import build_toolset

    config = with_prompts(job.config, job.prompts, root)
    settings = replace(config.tools, protected=[*config.tools.protected, *job.protected])
    evidence = config.limits.evidence_before_finish and not (job.carried and job.carried.worked)
    build = functools.partial(build_toolset, root, settings, finish_gate=job.finish_gate, user_changes=user_changes,
                              output_schema=job.output_schema, sandbox=job.sandbox, evidence=evidence)
    prompt, timeout = None, config.limits.timeout
    if job.carried is None:
        facts = task_facts(root, workdir, branch, bool(user_changes),
                           job.sandbox.as_dict() if job.sandbox.active else None)
        prompt = Templates(config.prompts.folder).render(
            job.template, task=job.task, facts=facts,
            agents_md=agents_md(root, workdir, config.context.agents_md_max_bytes), **job.template_vars)
    elif timeout is not None:  # the conversation goes on as it stood; the time limit counts the time already spent
        timeout = max(timeout - job.carried.elapsed_s, 0.001)
    display = events.display
    with plugged_toolset(build, config, job.tools, root, run_id, events) as toolset:
        if job.carried is not None:
            toolset.set_plan(job.carried.plan)
        agent = Agent(client, toolset, config, on_event=events, on_delta=display.delta if display is not None else None,
                      diff_stat=diff_stat)
        with signals.hard_deadline(timeout):
            result = agent.run(job.task, prompt=prompt, carried=job.carried)
        return replace(result, structured_output=toolset.structured_output()) if job.output_schema else result


def _finish(job: Job, guard, recorder: Recorder, result: RunResult | None) -> RunResult | None:
    """End the run snapshot (commit only a finished run unless configured), then write result.json."""
    from glm_agent.git.snapshot import GitSafetyError

    if result is None:  # crashed: keep the work uncommitted and let the exception speak
        try:
            guard.end(f"glm-agent: {job.task}\n\nStopped: {CRASHED}", commit=False)
        finally:
            recorder.close()
        return None
    finished = result.stop_reason == FINISHED
    commit = job.config.git.commit and (finished or job.config.git.commit_on_stop)
    message = result.summary if finished and result.summary.strip() else (
        f"glm-agent: {job.task}\n\nStopped: {result.stop_reason}")
    update: dict = {"run_dir": str(recorder.run_dir), "sandbox": job.sandbox.as_dict()}
    if job.resumes:
        update["extra"] = {**result.extra, "resumed_from": job.resumes}
    try:
        outcome = guard.end(message, commit=commit)
        update.update(commit=outcome.commit, branch=outcome.branch,
                      files_changed=outcome.files_changed or result.files_changed)
    except GitSafetyError as exc:
        update["error"] = "; ".join(filter(None, [result.error, f"git: {exc}"]))
    result = replace(result, **update)
    recorder.write_result(result.to_dict())
    recorder.close()
    return result


