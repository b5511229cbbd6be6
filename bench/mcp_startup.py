"""What one MCP server adds to a run's start-up: time from `glm-agent run` to its first request, without servers
and with one stdio server written with the SDK (the mcp extra must be installed).

    python bench/mcp_startup.py [--runs N]

Each run is the real CLI against the stand-in, answering `finish` at once; the first request's arrival is
stamped by the stand-in. Prints the median and spread of both, and the difference.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from glm_agent.testing import Reply, StandIn

SERVER = '''
from mcp.server.mcpserver import MCPServer
app = MCPServer("bench")
@app.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"
app.run()
'''


def first_request_s(repo: Path, config: Path | None) -> float:
    arrived: list[float] = []

    def reply(body: dict) -> Reply:
        arrived.append(time.monotonic())
        return Reply(tool_calls=[("finish", {"summary": "ok"})])

    with StandIn(responder=reply) as server:
        args = [sys.executable, "-m", "glm_agent", "run", "bench", "--repo", str(repo), "--base-url", server.base_url,
                "--json", "--no-branch", *(["--config", str(config)] if config else [])]
        started = time.monotonic()
        proc = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "ZAI_API_KEY": "k" * 24})
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return arrived[0] - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = root / "repo"
        repo.mkdir()
        for command in (["init", "-q", "-b", "main"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q",
                                                       "--allow-empty", "-m", "init"]):
            subprocess.run(["git", *command], cwd=repo, check=True)
        (root / "server.py").write_text(SERVER)
        config = root / "config.toml"
        config.write_text(f"[mcp.servers.bench]\ncommand = {json.dumps(sys.executable)}\n"
                          f"args = [{json.dumps(str(root / 'server.py'))}]\n")
        bare = [first_request_s(repo, None) for _ in range(runs)]
        with_server = [first_request_s(repo, config) for _ in range(runs)]
    for name, times in (("no MCP server", bare), ("one stdio MCP server", with_server)):
        print(f"{name:22} first request after {median(times) * 1000:6.0f} ms median "
              f"({min(times) * 1000:.0f}..{max(times) * 1000:.0f} ms, {runs} runs)")
    print(f"{'added by the server':22} {(median(with_server) - median(bare)) * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
