"""Refuse kill commands that would end the agent itself (its record, commit and snapshot end with it) or everything.

Only the agent process (this one) and "every process" are protected; processes the commands started can be
killed freely. A pid computed at run time (`kill $(pgrep -f ...)`) cannot be checked.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

_VALUE_OPTS = {"kill": {"-s", "-n", "--signal"}, "pkill": {"-s", "-g", "-G", "-P", "-t", "-u", "-U", "--signal",
                                                              "--session", "--pgroup", "--parent", "--euid",
                                                              "--uid", "--group", "--terminal"},
               "killall": {"-s", "-u", "-o", "-y", "--signal", "--user", "--older-than", "--younger-than"}}
_WHY = ("would stop glm-agent itself (the run would end without its record, commit or undo point) or every "
        "process. Stop the processes you started by their own pid or a pattern that only they match.")


def is_killer(program: str) -> bool:
    return program in _VALUE_OPTS


def check_kill(program: str, args: list[str]) -> str | None:
    signal_first = args[1:] if len(args) > 1 and re.fullmatch(r"-(\d+|[A-Z][A-Z0-9+]*)", args[0]) else args
    options, operands = _split(signal_first, _VALUE_OPTS[program])
    if program == "kill":
        own = {str(os.getpid()), f"-{os.getpgid(0)}", "-1", "$PPID", "${PPID}"}
        hit = [word for word in operands if word in own]
    elif program == "pkill":
        full = "-f" in options or "--full" in options
        text = _own_cmdline() if full else _own_name()
        hit = [p for p in operands if _matches(p, text, "-i" in options)] or (["(all of a user's)"] if not operands else [])
    else:  # killall: exact process names, or regexes with -r
        regex = "-r" in options or "--regexp" in options
        hit = [p for p in operands if (_matches(p, _own_name(), "-I" in options) if regex else p == _own_name())]
        hit = hit or (["(all of a user's)"] if not operands else [])
    if not hit:
        return None
    return f"Refused (not run): `{program} {' '.join(args)}`: {hit[0]!r} {_WHY}"


def _split(args: list[str], with_value: set[str]) -> tuple[list[str], list[str]]:
    options, operands, index = [], [], 0
    while index < len(args):
        word = args[index]
        if word in with_value or (word.startswith("-") and not word[1:].isdigit()):
            options.append(word)
            index += 2 if word in with_value else 1
            continue
        operands.append(word)
        index += 1
    return options, operands


def _matches(pattern: str, text: str, ignore_case: bool) -> bool:
    try:
        return bool(re.search(pattern, text, re.IGNORECASE if ignore_case else 0))
    except re.error:
        return False


def _own_cmdline() -> str:
    try:
        return Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return " ".join([sys.executable, *sys.argv])


def _own_name() -> str:
    try:
        return Path("/proc/self/comm").read_text().strip()
    except OSError:
        return os.path.basename(sys.executable)
