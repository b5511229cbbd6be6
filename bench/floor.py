"""The floor: the least a tool-calling agent does per step (one HTTP call, one subprocess), as a bare httpx loop.

Usage: python bench/floor.py BASE_URL REPO TASK  (ZAI_API_KEY in the environment; any value for the stand-in)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

BASH = {"type": "function", "function": {
    "name": "bash", "description": "Run a shell command in the repository and return its output.",
    "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}
FINISH = {"type": "function", "function": {
    "name": "finish", "description": "End the task with a summary of what was done.",
    "parameters": {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}}}


def main(base_url: str, repo: str, task: str) -> int:
    messages = [{"role": "system", "content": "You are a coding agent. Use the tools; call finish when done."},
                {"role": "user", "content": task}]
    headers = {"Authorization": f"Bearer {os.environ['ZAI_API_KEY']}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        while True:
            response = client.post("/chat/completions",
                                   json={"model": "glm-4.6", "messages": messages, "tools": [BASH, FINISH]})
            response.raise_for_status()
            message = response.json()["choices"][0]["message"]
            calls = message.get("tool_calls") or []
            messages.append({"role": "assistant", "content": message.get("content") or "", "tool_calls": calls})
            if not calls:
                return 1
            for call in calls:
                arguments = json.loads(call["function"]["arguments"])
                if call["function"]["name"] == "finish":
                    print(arguments["summary"])
                    return 0
                done = subprocess.run(arguments["command"], shell=True, cwd=repo, capture_output=True, text=True)
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": done.stdout + done.stderr})


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
