#!/usr/bin/env python3
"""post_tool hook: format a Python file after the agent writes or edits it, and tell the model it was formatted.

    [[hooks.post_tool]]
    matcher = "write_file|edit_file"
    command = "python3 /path/to/format_after_edit.py"

It runs `ruff format` or `black` when one is installed; without either it applies the small formatting that
needs no tool (trailing whitespace removed, tabs in indentation made spaces, one final newline).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

event = json.load(sys.stdin)
if event["tool_response"]["is_error"]:
    sys.exit(0)  # the edit did not happen
path = Path(event["cwd"]) / event["tool_input"]["path"]
if path.suffix != ".py" or not path.is_file():
    sys.exit(0)
before = path.read_text()
if shutil.which("ruff"):
    subprocess.run(["ruff", "format", "-q", str(path)], check=False)
elif shutil.which("black"):
    subprocess.run(["black", "-q", str(path)], check=False)
else:
    lines = [line.rstrip() for line in before.splitlines()]
    lines = [line.replace("\t", "    ", len(line) - len(line.lstrip())) for line in lines]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
if path.read_text() != before:
    print(json.dumps({"hookSpecificOutput": {
        "hookEventName": "PostToolUse",
        "additionalContext": f"{event['tool_input']['path']} was reformatted after your edit; read it again "
                             "before editing it further."}}))
