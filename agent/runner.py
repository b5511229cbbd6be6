"""One job end to end: git guard, run records, toolset, client and loop, wired together and always closed."""
from __future__ import annotations

import functools
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from agent import stopping
from agent.config import Config
from agent.loop import INTERRUPTED, Agent, Deadline, RunResult
from agent.records import RUNS_DIR, Recorder, new_run_id, slugify
from tools.secretenv import SECRET_ENV

AUTO_BRANCH = "glm-agent/{slug}"


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
    from agent.gitsafety import GitGuard

    repo = Path(job.repo).resolve()
    run_id = job.run_id or new_run_id(job.task)
    with stopping.held() as stopped:  # a Ctrl-C now stops the run right after the start is recorded
        identity = (job.config.tools.git_user_name, job.config.tools.git_user_email)
        beginning = _InBackground("git start", lambda: GitGuard.begin(repo, run_id, branch=_branch_for(job, repo),
                                                                      identity=identity))
        try:
            _load_first_request_code()
        finally:
            guard = beginning.result()
        secrets = [os.environ.get(k, "").strip() for k in SECRET_ENV]
        recorder = events.recorder = Recorder(guard.git.root / RUNS_DIR / run_id, redact=secrets)
        recorder({"type": "start", "run_id": run_id, "task": job.task, "repo": str(guard.git.root),
                  "head": guard.note.get("orig_head"), "branch": guard.branch,
                  "config": job.config.to_dict()})
    result: RunResult | None = None
    try:
        if stopped:
            raise KeyboardInterrupt
        result = _run_agent(job, client, guard.git.root, repo, guard.branch, guard.user_changes, events)
    except KeyboardInterrupt:  # before the loop took over (the loop records its own interruptions)
        result = RunResult(stop_reason="interrupted", error=INTERRUPTED)
        events({"type": "stop", **result.to_dict("stop_reason", "error", "steps")})
    finally:
        with stopping.deferred():
            result = _finish(job, guard, recorder, result)
    return result


class _InBackground:
    """One call run in a thread; result() waits for it and returns its value or raises its exception (a call
    whose result is never asked for fails silently: the warm-up imports, which the main thread repeats)."""

    def __init__(self, name: str, call: Callable[[], Any]):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), name=f"glm-agent {name}", daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self._value = call()
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _load_first_request_code() -> None:
    """Import the tools and compile the system prompt while git takes the start snapshot (its ~30 ms of git
    processes then overlap these imports instead of adding to them)."""
    import tools.toolset  # noqa: F401  (the import is the point)
    from prompts import environment

    environment().get_template("system.j2")


@functools.lru_cache(maxsize=None)  # once per process
def _load_answer_code_in_background() -> None:
    """Once the first request is out, import in a thread what reading the answer and running its tool calls
    needs (pydantic, the response and tool argument models: ~0.2 s): the model's thinking hides it."""
    def load() -> None:
        import agent.wire_response  # noqa: F401  (the import is the point)
        import tools.models  # noqa: F401

    _InBackground("warm-up", load)


def _run_agent(job: Job, client: Any, root: Path, workdir: Path, branch: str | None,
               user_changes: list[str] | None, events: _Events) -> RunResult:
    """`user_changes`: the paths uncommitted when the run began, as the git guard found them."""
    from prompts import render
    from tools import build_toolset
    from tools.workspace import KEPT_DIRS

    config = job.config
    settings = replace(config.tools, protected=[*config.tools.protected, *job.protected])
    toolset = build_toolset(root, settings, finish_gate=job.finish_gate, user_changes=user_changes)
    facts = {"root": str(root), "workdir": _relative(workdir, root), "branch": branch, "dirty": bool(user_changes),
             "files": sorted(p.name for p in root.iterdir() if p.name not in KEPT_DIRS)[:60]}
    prompt = render(job.template, task=job.task, facts=facts,
                    agents_md=agents_md(root, workdir, config.context.agents_md_max_bytes), **job.template_vars)
    display = events.display
    agent = Agent(client, toolset, config, on_event=events, on_delta=display.delta if display is not None else None)
    try:
        with _hard_deadline(config.limits.timeout):
            return agent.run(job.task, prompt=prompt)
    finally:
        toolset.close()  # background processes the run's commands left behind, now (not when collected)


def _finish(job: Job, guard, recorder: Recorder, result: RunResult | None) -> RunResult | None:
    """End the git guard (commit only a finished run unless configured), then write result.json."""
    from agent.gitsafety import GitSafetyError

    if result is None:  # crashed: keep the work uncommitted and let the exception speak
        try:
            guard.end(f"glm-agent: {job.task}\n\nStopped: crashed", commit=False)
        finally:
            recorder.close()
        return None
    finished = result.stop_reason == "finished"
    commit = job.config.git.commit and (finished or job.config.git.commit_on_stop)
    message = result.summary if finished and result.summary.strip() else (
        f"glm-agent: {job.task}\n\nStopped: {result.stop_reason}")
    update: dict = {"run_dir": str(recorder.run_dir)}
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


def build_client(config: Config, on_retry: Callable[[Exception, float], None] | None = None):
    """The GLM client for the configured endpoint; the key comes from ZAI_API_KEY."""
    from agent.client import GLMClient

    m = config.model
    return GLMClient(m.base_url, None, m.name, endpoint=m.endpoint, dialect=m.dialect, thinking=m.thinking,
                     tool_stream=m.tool_stream, temperature=m.temperature, top_p=m.top_p, max_tokens=m.max_tokens,
                     timeout=m.timeout, connect_timeout=m.connect_timeout, max_retries=m.max_retries,
                     backoff=m.backoff, prices=m.prices, on_retry=on_retry, on_sent=_load_answer_code_in_background)


def agents_md(root: Path, workdir: Path, cap: int) -> list[dict]:
    """AGENTS.md files from the repository root down to the working folder, at most `cap` bytes in all."""
    parts = workdir.relative_to(root).parts if root in workdir.parents else ()
    folders = [root.joinpath(*parts[:depth]) for depth in range(len(parts) + 1)]
    docs, left = [], cap
    for folder in folders:
        path = folder / "AGENTS.md"
        if not path.is_file() or left <= 0:
            continue
        data = path.read_bytes()
        text = data[:left].decode("utf-8", errors="ignore")
        docs.append({"path": _relative(path, root), "text": text.rstrip(), "truncated": len(data) > left})
        left -= len(data)
    return docs


def _branch_for(job: Job, repo: Path) -> str | None:
    if job.branch != AUTO_BRANCH:
        return job.branch
    if not job.config.git.branch:
        return None
    from agent.gitrepo import Git

    git, base = Git(repo), AUTO_BRANCH.format(slug=slugify(job.task))
    name, n = base, 1
    while git.rev(f"refs/heads/{name}"):
        n += 1
        name = f"{base}-{n}"
    return name


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve())) or "."
    except ValueError:
        return str(path)


@contextmanager
def _hard_deadline(seconds: float | None) -> Iterator[None]:
    """The loop checks the wall clock between steps; this timer also ends a step (a slow request or command)."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise Deadline(f"timeout limit reached ({seconds:g}s) in the middle of a step")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
