#!/usr/bin/env python3
"""pre_tool hook: refuse writes and edits under protected paths (a deny-list), with a reason the model reads.

    [[hooks.pre_tool]]
    matcher = "write_file|edit_file|undo_edit"
    command = "python3 /path/to/deny_paths.py secrets/ .env deploy/prod/"

Claude Code hook scripts work the same way: the event arrives as JSON on stdin, and the answer is a JSON object
with hookSpecificOutput.permissionDecision "deny" (exiting 2 with the reason on stderr does the same).
"""
import json
import sys

event = json.load(sys.stdin)
path = str(event["tool_input"].get("path") or event["tool_input"].get("file_path") or "")
for denied in sys.argv[1:] or ["secrets/", ".env"]:
    if path == denied.rstrip("/") or path.startswith(denied if denied.endswith("/") else denied + "/"):
        print(json.dumps({"hookSpecificOutput": {
            "hookEventName": "PreToolUse", "permissionDecision": "deny",
            "permissionDecisionReason": f"{path} is under {denied}, which this project does not let the agent change"}}))
        sys.exit(0)
sys.exit(0)
