"""A real MCP server written with the SDK, for the tests: `python mcp_notes.py` (stdio) or `... http PORT`.

Its tools cover what a client meets: text and structured results, a tool error, a hang, a crash, a leftover
child process. NOTES_EXTRA_TOOLS=N adds N trivial tools (for GLM's limit on the number of tools)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

app = MCPServer("notes")
NOTES = {"deploy": "run make release, then tag", "oncall": "alice this week"}


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
def lookup(key: str) -> dict:
    """Look up a team note by key; returns the note and its length."""
    if key not in NOTES:
        raise ToolError(f"no note named {key!r}; known: {', '.join(NOTES)}")
    return {"key": key, "note": NOTES[key], "length": len(NOTES[key])}


@app.tool()
def env(variable: str) -> str:
    """The value of one of the server's environment variables (empty when unset)."""
    return f"{variable}={os.environ.get(variable, '')}"


@app.tool()
def dump(size: int) -> str:
    """Answer with `size` characters (a result too big for the model's context)."""
    return "a" + "x" * (size - 2) + "z"


@app.tool()
def slow(seconds: float) -> str:
    """Sleep, then answer (a hung server, for timeouts)."""
    time.sleep(seconds)
    return "finally"


@app.tool()
def crash() -> str:
    """Exit the server process at once."""
    print("notes server: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@app.tool()
def spawn(pid_file: str) -> str:
    """Start a detached child (its own session) that would outlive the server, and write its pid."""
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)
    Path(pid_file).write_text(str(child.pid))
    return f"started {child.pid}"


for number in range(int(os.environ.get("NOTES_EXTRA_TOOLS", "0"))):
    app.tool(name=f"extra_{number}", description="A filler tool.")(lambda: "ok")

if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        app.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif os.environ.get("NOTES_FAIL_START"):
        print("notes server: cannot open the database", file=sys.stderr)
        sys.exit(1)
    else:
        app.run()
