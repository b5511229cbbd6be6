"""A throwaway local Ray cluster for the tests and the bench: `ray start --head` on 127.0.0.1 with its own temp dir,
a fixed number of CPUs and free ports, in its own process group so that stopping it ends only its processes."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PORT_FLAGS = ("--port", "--dashboard-port", "--dashboard-agent-listen-port",
              "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port",
              "--node-manager-port", "--object-manager-port")


class LocalRayCluster:
    def __init__(self, cpus: int = 2, env: dict | None = None):
        self.cpus, self.env = cpus, env
        self.address = ""
        self._proc: subprocess.Popen | None = None
        self._temp = ""

    def __enter__(self) -> LocalRayCluster:
        beside = Path(sys.executable).with_name("ray")  # the ray of this Python: the nodes must run the same one
        ray = str(beside) if beside.exists() else shutil.which("ray") or "ray"
        self._temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
        ports = _free_ports(len(PORT_FLAGS))
        workers = _free_ports(1)[0]
        command = [ray, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--num-cpus", str(self.cpus),
                   "--temp-dir", self._temp, "--include-dashboard=false", "--disable-usage-stats",
                   "--min-worker-port", str(workers), "--max-worker-port", str(workers + 60),
                   *[arg for flag, port in zip(PORT_FLAGS, ports) for arg in (flag, str(port))]]
        env = {**(self.env if self.env is not None else os.environ), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
        log = open(Path(self._temp) / "ray-start.log", "wb")
        self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=env, start_new_session=True, preexec_fn=_end_with_parent)
        self.address = f"127.0.0.1:{ports[0]}"
        deadline = time.monotonic() + 90
        while b"--block" not in (Path(self._temp) / "ray-start.log").read_bytes():  # printed once it is up
            if self._proc.poll() is not None or time.monotonic() > deadline:
                text = (Path(self._temp) / "ray-start.log").read_text(errors="replace")
                self.__exit__()
                raise RuntimeError(f"ray start failed:\n{text[-3000:]}")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        """SIGTERM to the cluster's own process group, SIGKILL to what is left of it after a grace period."""
        if self._proc is not None:
            for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self._proc.pid, sig)
                except ProcessLookupError:
                    break
                end = time.monotonic() + grace
                while time.monotonic() < end and _group_alive(self._proc.pid):
                    self._proc.poll()
                    time.sleep(0.1)
            self._proc.wait()
        shutil.rmtree(self._temp, ignore_errors=True)


def _end_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the process that started the cluster dies without stopping
    it (a test run killed at its time limit), so `ray start --block` takes its cluster down."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()
