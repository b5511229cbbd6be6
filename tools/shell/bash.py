"""bash: one fresh, non-interactive bash process per call, killed with all its children on timeout.

Each call's bash is started ahead, right after the previous call, and waits for its command on stdin: bash's
own start-up (1-2 ms, more than the rest of a step's framework work) then overlaps the model's turn instead of
delaying the command. It reads the whole command before running any of it, so the command's stdin is at EOF.
"""
from __future__ import annotations

import codecs
import contextlib
import functools
import os
import re
import select
import subprocess
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from glm_agent.tools.base import ToolError, ToolResult
from glm_agent.tools.guard.command import check_command
from glm_agent.tools.shell.procs import MARKER, kill_group, kill_marked, new_marker
from glm_agent.tools.shell.sandbox import OFF, Sandbox
from glm_agent.tools.workspace import Workspace

if TYPE_CHECKING:
    from glm_agent.tools.schemas import Bash

EXIT_GRACE = 1.0  # seconds to wait for output after bash exits while a background child holds the pipe
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass
class _Capture:
    """Head and tail of a stream of bytes, with counts of what lies between."""

    limit: int
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit // 2 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > self.limit:
            del self.tail[: len(self.tail) - self.limit // 2]

    def text(self) -> str:
        if self.total <= self.limit:
            return _clean((bytes(self.head) + bytes(self.tail)).decode("utf-8", "replace"))
        tail = bytes(self.tail[-(self.limit // 2):])
        omitted = self.total - len(self.head) - len(tail)
        head = codecs.getincrementaldecoder("utf-8")("replace").decode(bytes(self.head), final=False)
        tail = tail.lstrip(bytes(range(0x80, 0xC0)))
        note = f"\n[... {omitted:,} bytes of output omitted (of {self.total:,}); showing the start and the end ...]\n"
        return _clean(head) + note + _clean(tail.decode("utf-8", "replace"))


class Shell:
    """The bash tool bound to a workspace; `close()` (or garbage collection, or exit) kills what its commands left
    running in the background."""

    def __init__(self, workspace: Workspace, sandbox: Sandbox = OFF):
        self.ws, self.sandbox = workspace, sandbox
        self._marker = new_marker()
        self._next: list[subprocess.Popen] = []  # the bash started ahead for the next call, if any
        self.commands_run = 0  # commands that really ran (refused ones do not count): evidence of work
        self.close = weakref.finalize(self, _close, self._marker, self._next)

    def bash(self, args: Bash) -> ToolResult:
        refusal = check_command(args.command, self.ws.root)
        if refusal:
            raise ToolError(refusal)
        if "\0" in args.command:
            raise ToolError("the command contains a NUL character, which bash cannot take; remove it")
        settings = self.ws.settings
        timeout = min(args.timeout, settings.bash_timeout_max)
        capped = f"[timeout capped at the maximum of {timeout}s]\n" if args.timeout > timeout else ""
        proc = self._started(args.command)
        self.commands_run += 1
        capture = _Capture(settings.output_limit)
        started = time.monotonic()
        with proc:
            try:
                ending = _pump(proc, capture, started + timeout)
            except BaseException:  # Ctrl-C or the run's deadline: the command must not outlive the call
                kill_group(proc.pid)
                raise
            if ending != "eof":
                kill_group(proc.pid)
                _drain(proc, capture)
            code = proc.wait()
        self._spawn_ahead()
        output = capture.text().rstrip("\n") or "(no output)"
        if ending == "timeout":
            return ToolResult(
                f"{capped}{output}\n[timed out after {timeout}s: the command and all its child processes were "
                "killed. Use a longer timeout, or run long jobs in the background with output to a file.]",
                is_error=True,
            )
        note = ""
        if ending == "held":
            note = ("\n[background processes still held the output open after bash exited and were killed; to "
                    "keep a process running, redirect its output: cmd > file.log 2>&1 &]")
        status = f"[exit code {code}]" if code >= 0 else f"[killed by signal {-code}]"
        hint = f"\n{self.sandbox.hint(output)}" if code != 0 and self.sandbox.hint(output) else ""
        return ToolResult(f"{capped}{output}{note}\n{status}{hint}", is_error=code != 0)

    def _started(self, command: str) -> subprocess.Popen:
        """A bash running `command`: the one started ahead when it is still waiting, else a new one."""
        ready = self._next.pop() if self._next else None
        for proc in (ready, None):
            proc = proc or self._spawn()
            try:
                proc.stdin.write(os.fsencode(command))
                proc.stdin.close()
                return proc
            except BrokenPipeError:  # it was killed while waiting (a command's `pkill bash`, say)
                proc.wait()
        raise ToolError("bash exited before it could read the command")

    def _spawn_ahead(self) -> None:
        """Start the next call's bash now; when that fails, the next call tries again and reports why."""
        with contextlib.suppress(ToolError):
            self._next.append(self._spawn())

    def _spawn(self) -> subprocess.Popen:
        try:
            return subprocess.Popen(self.sandbox.wrap(["bash", "-c", ". /dev/stdin"]), cwd=self.ws.root, env=self._env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as exc:
            raise ToolError(f"bash could not be started: {exc.strerror}") from None

    @functools.cached_property
    def _env(self) -> dict[str, str]:
        """The commands' environment, made on the first call: the agent's own less the hidden keys, made
        non-interactive (nothing changes os.environ during a run)."""
        hidden = self.ws.settings.hidden_env
        env = {k: v for k, v in os.environ.items() if k not in hidden}
        env.update({MARKER: self._marker}, PAGER="cat", GIT_PAGER="cat", TERM="dumb", GIT_TERMINAL_PROMPT="0", GIT_EDITOR="true",
                   EDITOR="true", DEBIAN_FRONTEND="noninteractive", NO_COLOR="1",
                   PYTHONDONTWRITEBYTECODE="1")  # no __pycache__ litter in the agent's commit
        return env


def _pump(proc: subprocess.Popen, capture: _Capture, deadline: float) -> str:
    """Read until EOF ("eof"), the deadline ("timeout"), or bash gone but its pipe still held ("held")."""
    fd = proc.stdout.fileno()
    exited_at = None
    while True:
        now = time.monotonic()
        if now >= deadline:
            return "timeout"
        ready, _, _ = select.select([fd], [], [], min(deadline - now, 0.1))
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return "eof"
            capture.add(chunk)
        if proc.poll() is not None:
            exited_at = exited_at or now
            if now - exited_at > EXIT_GRACE:
                return "held"


def _close(marker: str, waiting: list[subprocess.Popen]) -> None:
    """Kill what the commands left running, and the bash started ahead (reaped, so no zombie stays)."""
    kill_marked(marker)
    for proc in waiting:
        proc.kill()
        proc.communicate()
    waiting.clear()


def _drain(proc: subprocess.Popen, capture: _Capture, limit: float = 1.0) -> None:
    """Collect what the killed processes left in the pipe, without waiting on an escaped holder."""
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            capture.add(chunk)


def _clean(text: str) -> str:
    """Terminal noise out: colour codes, and carriage-return progress redraws (the last state stays)."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    if "\r" not in text:
        return text
    return "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
                     for line in text.split("\n"))
