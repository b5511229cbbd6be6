"""The sandbox of every command the model runs (the bash tool, the check of fix): the bubblewrap command line.

Inside: the whole system read-only, the repository writable but its .git and .glm-agent read-only, a private
/tmp, the user's credential stores hidden (an empty folder or file in their place, whatever path names them),
and no network unless the user allows it. Background processes stay in the agent's process tree (no pid
namespace: a command may start a job in the background and look at it in a later call) and die with the run.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

MODES = ("auto", "bwrap", "off")
CREDENTIAL_STORES = ("~/.ssh", "~/.gnupg", "~/.aws", "~/.azure", "~/.config/gcloud", "~/.kube", "~/.docker",
                     "~/.netrc", "~/.git-credentials", "~/.config/glm-agent")
OWN_STATE = "~/.local/state/glm-agent"  # undo's copies of the user's work in other repositories: hidden too
KEPT_READ_ONLY = (".git", ".glm-agent")  # the snapshot refs and the run records: commands cannot change them
PROBE_TIMEOUT = 10.0
NO_NETWORK = re.compile(r"could not resolve|name or service not known|temporary failure in name resolution|"
                        r"network is unreachable|no route to host|connection refused|getaddrinfo|"
                        r"failed to establish a new connection|nodename nor servname|unable to access '",
                        re.IGNORECASE)
NETWORK_HINT = ("[the sandbox has no network: if this command needed it, say so in your summary; the user can "
                "allow it with --network or sandbox.network = true]")
FIX_USERNS = ("if unprivileged user namespaces are blocked (Ubuntu 23.10+, GitHub's ubuntu-24.04 runners), allow "
              "them: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`; or run with --sandbox off")


@dataclass(frozen=True)
class SandboxSettings:
    """How commands are sandboxed; validated by the config layer (glm_agent.config.settings.SandboxOptions)."""

    mode: Literal["auto", "bwrap", "off"] = field(default="auto", metadata={
        "doc": "`auto`: bubblewrap when it can start, else unsandboxed with a warning; `bwrap`: refuse to run "
               "without it; `off`: commands run with your full rights"})
    network: bool = field(default=False, metadata={"doc": "let sandboxed commands reach the network"})
    hide: list[str] = field(default_factory=list, metadata={
        "doc": "more files or folders commands must not see, besides " + ", ".join(f"`{p}`" for p in CREDENTIAL_STORES)})
    copy_max_mb: float = field(default=64.0, metadata={
        "ge": 0, "doc": "without the sandbox, the most MB of uncommitted and untracked files copied outside the "
                        "repository for undo (above it, no copy is made and the run says so)"})


class SandboxUnavailable(Exception):
    """--sandbox bwrap, and bubblewrap cannot start here; the message says why and what to do."""


@dataclass(frozen=True)
class Sandbox:
    """The sandbox in force for one run: `mode` "bwrap" or "off", and why."""

    mode: str
    reason: str
    network: bool = False
    root: Path | None = None
    hidden: tuple[Path, ...] = ()

    @property
    def active(self) -> bool:
        return self.mode == "bwrap"

    def as_dict(self) -> dict:
        return {"mode": self.mode, "reason": self.reason, "network": self.network or not self.active}

    def wrap(self, argv: Sequence[str], cwd: Path | None = None) -> list[str]:
        """`argv` as run inside the sandbox (unchanged when it is off)."""
        if not self.active:
            return list(argv)
        return [*bwrap_args(self.root, self.hidden, self.network, cwd or self.root), "--", *argv]

    def hint(self, output: str) -> str:
        """The note for a failed command whose output looks like a refused connection with the network off."""
        return NETWORK_HINT if self.active and not self.network and NO_NETWORK.search(output) else ""


OFF = Sandbox("off", "not sandboxed")


def bwrap_args(root: Path, hidden: Sequence[Path], network: bool, cwd: Path) -> list[str]:
    """The bubblewrap options: order matters (later mounts lie over earlier ones)."""
    args = ["bwrap", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--tmpfs", "/dev/shm", "--bind", str(root), str(root)]
    for path in hidden:
        if path.is_dir():
            args += ["--tmpfs", str(path), "--remount-ro", str(path)]
        else:
            args += ["--ro-bind", "/dev/null", str(path)]
    for name in KEPT_READ_ONLY:
        kept = root / name
        if kept.exists() or kept.is_symlink():
            args += ["--ro-bind", str(kept.resolve()), str(kept)]
    if not network:
        args.append("--unshare-net")
    return [*args, "--setenv", "TMPDIR", "/tmp", "--chdir", str(cwd)]


def hidden_paths(extra: Sequence[str] = (), root: Path | None = None) -> tuple[Path, ...]:
    """The existing credential stores (and `extra`), by their real paths, under every name of the home folder
    ($HOME and the account's own); a path holding the repository itself is left visible."""
    homes = {Path.home()}
    try:
        homes.add(Path(pwd.getpwuid(os.getuid()).pw_dir))
    except KeyError:
        pass
    names = [*CREDENTIAL_STORES, OWN_STATE, *extra]
    names += [os.path.join(os.environ[var], "glm-agent") for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME")
              if os.environ.get(var)]
    found: dict[Path, None] = {}
    for name in names:
        for home in homes:
            text = os.path.expandvars(name)
            path = home / text[2:] if text == "~" or text.startswith("~/") else Path(text)
            if not path.is_absolute() or not (path.exists() or path.is_symlink()):
                continue
            real = path.resolve()
            if root is not None and (real == root or real in root.parents):
                continue
            found[real] = None
    return tuple(found)


def open_sandbox(settings: SandboxSettings, root: Path) -> Sandbox:
    """The sandbox for a run in `root`, decided once: bubblewrap is tried for real (a `true` inside it)."""
    if settings.mode == "off":
        return Sandbox("off", "sandbox.mode = off: commands run with your full rights", network=True)
    root = Path(root).resolve()
    candidate = Sandbox("bwrap", "bubblewrap", settings.network, root, hidden_paths(settings.hide, root))
    why = _cannot_start(candidate)
    if why is None:
        chosen = "bubblewrap required (sandbox.mode = bwrap)" if settings.mode == "bwrap" else \
            "auto: bubblewrap works here"
        return Sandbox("bwrap", chosen, settings.network, candidate.root, candidate.hidden)
    if settings.mode == "bwrap":
        raise SandboxUnavailable(f"--sandbox bwrap: bubblewrap cannot start: {why}. Install it (Debian/Ubuntu: "
                                 f"`apt-get install bubblewrap`); {FIX_USERNS}")
    return Sandbox("off", f"auto: bubblewrap cannot start ({why}); commands run unsandboxed", network=True)


def _cannot_start(sandbox: Sandbox) -> str | None:
    """Why bubblewrap cannot run a command here, or None when it can."""
    if shutil.which("bwrap") is None:
        return "bwrap is not installed (not on PATH)"
    try:
        proc = subprocess.run(sandbox.wrap(["true"]), stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if proc.returncode != 0:
        text = proc.stderr.decode(errors="replace").strip().splitlines()
        return (text[-1] if text else f"exit code {proc.returncode}")[:300]
    return None
