"""Processes the bash tool started, found by an environment marker, so none outlives the toolset.

A process group is not enough: `setsid`, `nohup` and double forks leave it, but they keep the environment.
A process that clears its environment (`env -i`) escapes this net; only a container would catch it.
"""
from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

MARKER = "GLM_AGENT_TOOLSET"
_ROUNDS = 5  # a command still forking while we kill needs a few passes


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group (started with start_new_session); one already gone is no error."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def new_marker() -> str:
    return secrets.token_hex(8)


def kill_marked(token: str) -> int:
    """SIGKILL every process whose environment carries this toolset's marker; returns how many were killed."""
    needle = f"{MARKER}={token}".encode()
    killed: set[int] = set()
    for _ in range(_ROUNDS):
        found = [pid for pid in _pids() if needle in _environ(pid)]
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
    _until_dead(killed)
    return len(killed)


def _until_dead(pids: set[int], timeout: float = 2.0) -> None:
    """SIGKILL is delivered asynchronously: wait (briefly) until each process is gone or a zombie, so that when
    the toolset is closed nothing of the run is still running."""
    end = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < end:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                break  # gone
            if state in ("Z", "X"):
                break
            time.sleep(0.005)


def _pids() -> list[int]:
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    own = os.getpid()
    return [int(name) for name in os.listdir(proc) if name.isdigit() and int(name) != own]


def _environ(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return []
