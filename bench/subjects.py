"""The three agents under test: how each is launched and what the stand-in answers it at every step."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from glm_agent.testing import Reply

BENCH = Path(__file__).resolve().parent
MINI_VERSION = "2.4.6"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"  # mini-swe-agent's submit convention


@dataclass(frozen=True)
class Launch:
    """One subprocess to start: what, where, with which environment."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass(frozen=True)
class Subject:
    """An agent: `launch(server, repo, task, scratch)` builds its command; `reply(step, n, command)` scripts the model.

    The name is the subject spec given on the command line; "glm-agent --no-stream" adds flags to `glm-agent run`.
    """

    name: str
    launch: Callable[..., Launch]
    reply: Callable[[int, int, str], Reply]


def base_env(scratch: Path) -> dict[str, str]:
    """The parent environment, isolated from the user's config files and without real keys.

    PYTHONDONTWRITEBYTECODE is dropped so the warm-up run leaves .pyc files, as a normal install has.
    """
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(ZAI_API_KEY="bench-dummy-key", OPENAI_API_KEY="bench-dummy-key", HOME=str(scratch),
               XDG_CONFIG_HOME=str(scratch / "config"), GIT_CONFIG_NOSYSTEM="1")
    return env


def tool_reply(step: int, n: int, command: str) -> Reply:
    if step < n:
        return Reply(tool_calls=[("bash", {"command": command})])
    return Reply(tool_calls=[("finish", {"summary": "Ran the command as asked."})])


def _glm_launcher(extra: list[str]) -> Callable[..., Launch]:
    exe = shutil.which("glm-agent", path=str(Path(sys.executable).parent)) or shutil.which("glm-agent")
    if exe is None:
        raise SystemExit("glm-agent is not installed in this Python: run `pip install .` from the repository first")

    def launch(server, repo: Path, task: str, scratch: Path) -> Launch:
        argv = [exe, "run", task, "--repo", str(repo), "--base-url", server.base_url, "--json",
                "--max-steps", "1000", *extra]
        return Launch(argv, base_env(scratch), repo)

    return launch


def _floor_launch(server, repo: Path, task: str, scratch: Path) -> Launch:
    return Launch([sys.executable, str(BENCH / "floor.py"), server.base_url, str(repo), task], base_env(scratch), repo)


def _mini_dir(cache: Path) -> Path:
    return cache / f"mini-swe-agent-{MINI_VERSION}"


def mini_venv(cache: Path) -> Path:
    """mini-swe-agent's own venv under the cache dir, created with pip on first use; returns its `mini` script."""
    venv = _mini_dir(cache)
    mini = venv / "bin" / "mini"
    if not mini.exists():
        print(f"installing mini-swe-agent {MINI_VERSION} into {venv} (once) ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"mini-swe-agent=={MINI_VERSION}"],
                       check=True)
    return mini


def mini_versions(cache: Path) -> dict[str, str]:
    """Versions in mini-swe-agent's venv: its start-up is mostly litellm's import, which varies by release."""
    python = _mini_dir(cache) / "bin" / "python"
    code = ("import importlib.metadata as m, json; "
            "print(json.dumps({p: m.version(p) for p in ('mini-swe-agent', 'litellm')}))")
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def _mini_launcher(cache: Path, textbased: bool) -> Callable[..., Launch]:
    mini = mini_venv(cache)

    def launch(server, repo: Path, task: str, scratch: Path) -> Launch:
        config = ["-c", "mini.yaml"]
        if textbased:
            config = ["-c", "mini_textbased.yaml", "--model-class", "litellm_textbased"]
        argv = [str(mini), "-y", "--exit-immediately", "-t", task, "-m", "openai/glm-4.6", *config,
                "-c", f"model.model_kwargs.api_base={server.url_for('/v1')}", "-c", "model.cost_tracking=ignore_errors",
                "-c", f"environment.cwd={repo}", "-c", "agent.step_limit=1000", "-o", str(scratch / "mini.traj.json")]
        env = base_env(scratch)
        # Configured and quiet, no first-run wizard; litellm reads its bundled price map instead of fetching it.
        env.update(MSWEA_CONFIGURED="true", MSWEA_GLOBAL_CONFIG_DIR=str(scratch / "mini-config"),
                   LITELLM_LOCAL_MODEL_COST_MAP="True")
        return Launch(argv, env, repo)

    return launch


def _mini_tool_reply(step: int, n: int, command: str) -> Reply:
    return Reply(tool_calls=[("bash", {"command": command if step < n else SUBMIT})])


def _mini_text_reply(step: int, n: int, command: str) -> Reply:
    return Reply(content=f"THOUGHT: next step.\n\n```mswea_bash_command\n{command if step < n else SUBMIT}\n```")


def build_subjects(names: list[str], cache: Path, mini_format: str) -> list[Subject]:
    """The requested subjects in order; mini-swe-agent's venv is installed here if it is among them."""
    subjects = []
    for name in names:
        if name.split()[0] == "glm-agent":  # "glm-agent --no-stream" runs it with extra flags
            subjects.append(Subject(name, _glm_launcher(shlex.split(name)[1:]), tool_reply))
        elif name == "mini-swe-agent":
            text = mini_format == "text"
            subjects.append(Subject(name, _mini_launcher(cache, text), _mini_text_reply if text else _mini_tool_reply))
        elif name == "floor":
            subjects.append(Subject(name, _floor_launch, tool_reply))
        else:
            raise SystemExit(f"unknown subject {name!r}: choose from glm-agent, mini-swe-agent, floor")
    return subjects
