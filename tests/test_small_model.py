"""Opt-in: two one-step tasks with a real small model (Qwen2.5-Coder-1.5B behind llama.cpp's server) never end
as a false `finished`: either the work is really done, or the run stops honestly without finishing.

Not part of CI (minutes of CPU per task). Run it with

    GLM_AGENT_SMALL_MODEL=1 python -m pytest -q -p no:cacheprovider tests/test_small_model.py -s

It starts the server itself from the weights set up by /work/shared/local-llm/setup.sh (GLM_LLM_DIR, default
~/.cache/glm-perf/llm), or uses a running one at GLM_AGENT_SMALL_MODEL_URL (an OpenAI-style base URL ending in /v1).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from glm_agent.jobs.records import read_events
from helpers import CHECK, SHARED, buggy_project, git_init

pytestmark = pytest.mark.skipif(not os.environ.get("GLM_AGENT_SMALL_MODEL"),
                                reason="opt-in real small model test: set GLM_AGENT_SMALL_MODEL=1")

LLM_DIR = Path(os.environ.get("GLM_LLM_DIR", Path.home() / ".cache" / "glm-perf" / "llm"))  # before HOME is faked
MODEL = LLM_DIR / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
LOCAL_LLM = Path(os.environ.get("GLM_LOCAL_LLM", SHARED / "local-llm"))  # serve_xllamacpp.py, setup.sh
PORT = int(os.environ.get("GLM_AGENT_SMALL_MODEL_PORT", "18112"))
TASK_TIMEOUT = 900  # seconds per task: prompt processing on 2 shared cores is slow


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    """The small model's base URL: a running server's, or one started here and stopped after the module."""
    given = os.environ.get("GLM_AGENT_SMALL_MODEL_URL")
    if given:
        yield given
        return
    python = LLM_DIR / "venv" / "bin" / "python"
    if not (MODEL.is_file() and python.is_file()):
        pytest.fail(f"no small model under {LLM_DIR}: run bash {LOCAL_LLM / 'setup.sh'} first", pytrace=False)
    log = tmp_path_factory.mktemp("llm") / "server.log"
    env = {**os.environ, "CHAT_TEMPLATE_FILE": str(LOCAL_LLM / "qwen2.5-coder-fenced-json.jinja")}
    with open(log, "w") as out:
        server = subprocess.Popen([str(python), str(LOCAL_LLM / "serve_xllamacpp.py"), str(MODEL), str(PORT),
                                   "16384", "2"], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 300
        while not _healthy(PORT):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the llama.cpp server did not come up:\n{log.read_text()[-2000:]}", pytrace=False)
            time.sleep(1)
        yield f"http://127.0.0.1:{PORT}/v1"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _run(repo: Path, base_url: str, task: str, *extra: str) -> dict:
    command = [sys.executable, "-m", "glm_agent", "run", task, "--repo", str(repo), "--dialect", "openai",
               "--base-url", base_url, "--model", "local", "--no-thinking", "--max-steps", "12",
               "--timeout", str(TASK_TIMEOUT), "--json", "-c", "model.max_tokens=1024", *extra]
    env = {**os.environ, "ZAI_API_KEY": "local-no-key"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TASK_TIMEOUT + 120)
    result = json.loads(proc.stdout)
    calls = [e["name"] for e in read_events(Path(result["run_dir"])) if e["type"] == "tool_call"]
    print(f"\n{task!r}: exit {proc.returncode}, stop {result['stop_reason']}, steps {result['steps']}, "
          f"calls {calls}, files {result['files_changed']}, extra {json.dumps(result['extra'])[:400]}\n"
          f"summary: {result['summary']}\nerror: {result['error']}")
    return result


@pytest.mark.timeout(TASK_TIMEOUT + 400)
def test_create_hello_is_done_or_honestly_not_finished(tmp_path, base_url):
    repo = git_init(tmp_path / "repo")
    result = _run(repo, base_url, "create hello.txt containing hi")
    if result["stop_reason"] == "finished":
        assert (repo / "hello.txt").is_file(), "finished, but hello.txt was not created"
        assert "hi" in (repo / "hello.txt").read_text()


def _calc_repo(tmp_path: Path) -> Path:
    return buggy_project(git_init(tmp_path / "repo"))


@pytest.mark.timeout(TASK_TIMEOUT + 400)
@pytest.mark.parametrize("extra", [(), ("--check", CHECK)], ids=["plain", "with-check"])
def test_fix_add_is_done_or_honestly_not_finished(tmp_path, base_url, extra):
    repo = _calc_repo(tmp_path)
    result = _run(repo, base_url, "fix add() in calc.py", *extra)
    if result["stop_reason"] == "finished":
        check = subprocess.run(CHECK, shell=True, cwd=repo, capture_output=True, text=True)
        assert check.returncode == 0, f"finished, but add() is still broken:\n{check.stdout}{check.stderr}"
