#!/usr/bin/env python3
"""stop hook: refuse the agent's finish while the project's tests fail, showing it the failures.

    [[hooks.stop]]
    command = "python3 /path/to/tests_must_pass.py python3 -m pytest -q -x"

Exit code 2 refuses the finish; what is written to stderr is the reason the model reads.
"""
import json
import subprocess
import sys

event = json.load(sys.stdin)
command = sys.argv[1:] or [sys.executable, "-m", "pytest", "-q", "-x"]
try:
    proc = subprocess.run(command, cwd=event["cwd"], capture_output=True, text=True, timeout=300)
except subprocess.TimeoutExpired:
    print(f"`{' '.join(command)}` did not finish within 300 s; make the tests finish before you finish.",
          file=sys.stderr)
    sys.exit(2)
if proc.returncode != 0:
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
    print(f"The tests do not pass yet (`{' '.join(command)}` exited {proc.returncode}); fix them before you "
          f"finish:\n{tail}", file=sys.stderr)
    sys.exit(2)
