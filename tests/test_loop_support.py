"""Support for the end-to-end tests (no tests here): a job run over loopback against the GLM stand-in."""
from __future__ import annotations

import json
from pathlib import Path

from agent.client import GLMClient
from agent.config import Config
from agent.records import read_events
from agent.runner import Job, run_job
from agent.standin import Reply, StandIn

FAKE_KEY = "zai-test-key-0123456789abcdef"


def call(name: str, **arguments) -> Reply:
    return Reply(tool_calls=[(name, arguments)])


def finish(summary: str = "done") -> Reply:
    return call("finish", summary=summary)


def run_script(repo: Path, script: list, *, config: Config | None = None, task: str = "Fix it", **job):
    """Run the job against a stand-in serving `script`; returns (result, stand-in requests, events)."""
    with StandIn(script) as server:
        with GLMClient(server.base_url, FAKE_KEY, max_retries=0) as client:
            result = run_job(Job(task, repo, config or Config(), **job), model=client)
        requests = list(server.requests)
    return result, requests, list(read_events(Path(result.run_dir)))


def dumps(message: dict) -> str:
    return json.dumps(message, sort_keys=True, ensure_ascii=False)
