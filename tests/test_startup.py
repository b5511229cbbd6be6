"""What a run loads before its first request: validation libraries wait until the model has been asked.

pydantic (tool argument and response models) and GitPython cost well over 100 ms to import; the first request
needs neither, and in real use the model takes seconds to answer: a thread loads them while it thinks.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from glm_agent.testing import Reply, StandIn
from helpers import NO_EVIDENCE_ARGS

# Runs the real CLI with an audit hook that notes which packages are loaded when the first socket connects,
# and which thread first imports pydantic.
PROBE = """
import atexit, json, os, sys, threading
seen = {}
def hook(event, args):
    if event == "socket.connect" and "loaded" not in seen:
        seen["loaded"] = sorted({name.split(".")[0] for name in sys.modules} | {n for n in sys.modules if n.startswith("glm_agent.")})
    if event == "import" and args[0] == "pydantic" and "pydantic_by" not in seen:
        seen["pydantic_by"] = threading.current_thread().name
atexit.register(lambda: json.dump(seen, open(os.environ["PROBE_OUT"], "w")))
sys.addaudithook(hook)
from glm_agent.cli.main import main
sys.exit(main())
"""


def probe(repo, tmp_path, *args: str, latency: float = 0.0) -> tuple[dict, dict]:
    """What the probe saw, and the first request's body."""
    out = tmp_path / "probe.json"
    with StandIn(script=[Reply(tool_calls=[("finish", {"summary": "nothing to do"})])], latency=latency) as server:
        proc = subprocess.run([sys.executable, "-c", PROBE, "run", "say hello", "--repo", str(repo),
                               "--base-url", server.base_url, "--json", *NO_EVIDENCE_ARGS, *args],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "ZAI_API_KEY": "sk-test-startup-0123456789", "PROBE_OUT": str(out)})
        assert len(server.requests) == 1
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), server.requests[0]


def first_request(repo, tmp_path, *args: str) -> tuple[set[str], dict]:
    """The top-level packages (and glm_agent's modules) loaded when the first request's socket connected, and that request's body."""
    seen, body = probe(repo, tmp_path, *args)
    return set(seen["loaded"]), body


def bash_timeout(body: dict) -> dict:
    tool = next(t for t in body["tools"] if t["function"]["name"] == "bash")
    return tool["function"]["parameters"]["properties"]["timeout"]


def test_first_request_goes_out_before_pydantic_and_gitpython_load(repo, tmp_path):
    loaded, body = first_request(repo, tmp_path)
    assert bash_timeout(body)["default"] == 120
    assert {"httpx", "jinja2", "glm_agent", "glm_agent.tools"} <= loaded  # the probe saw the real start path
    assert "pydantic" not in loaded and "pydantic_core" not in loaded
    assert "git" not in loaded  # GitPython: the guard drives git directly


def test_a_non_default_bash_timeout_still_builds_a_correct_first_request(repo, tmp_path):
    """Custom tool settings take the slower path (schemas generated from the models), never a stale schema."""
    _, body = first_request(repo, tmp_path, "-c", "tools.bash_timeout_default=7", "-c", "tools.bash_timeout_max=9")
    assert bash_timeout(body)["default"] == 7 and "at most 9" in bash_timeout(body)["description"]


def test_while_the_model_thinks_a_thread_loads_what_its_answer_needs(repo, tmp_path):
    seen, _ = probe(repo, tmp_path, latency=0.5)  # the first answer takes half a second
    assert "pydantic" not in seen["loaded"]
    assert seen["pydantic_by"] == "glm-agent warm-up"  # not the main thread, after the answer came
