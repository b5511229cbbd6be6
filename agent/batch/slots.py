"""Request slots over loopback TCP: how a task's `glm-agent run` child asks the batch's Limiter before each request.

The child keeps one connection and sends `acquire OWNER` (answered `ok` once a slot is free) and `release ok|busy`
around each request; a connection that closes gives back what it held, so a killed child leaks nothing. The
server is in the batch process (local executor) or in each Ray task on its node, in front of the Ray actor.
Only the standard library: the child imports this before its first request.
"""
from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Iterator

ENV_ADDRESS, ENV_OWNER = "GLM_AGENT_REQUEST_SLOTS", "GLM_AGENT_REQUEST_OWNER"
log = logging.getLogger("glm_agent.batch.slots")


class SlotServer:
    """Serves `limiter` (acquire(owner), release(owner, busy)) on 127.0.0.1; `address` is host:port."""

    def __init__(self, limiter):
        self.limiter = limiter
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._closing = threading.Event()
        self.address = "127.0.0.1:%d" % self._sock.getsockname()[1]
        threading.Thread(target=self._accept, name="request-slots", daemon=True).start()

    def close(self) -> None:
        """Wake the accept thread, which closes the socket itself: closed from here, its file descriptor could be
        reused (say by a test's GLM stand-in) while that thread is still in accept() on the number."""
        self._closing.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        try:
            while not self._closing.is_set():
                try:
                    conn, _ = self._sock.accept()
                except OSError:  # shut down
                    return
                if self._closing.is_set():
                    conn.close()
                    return
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
        finally:
            self._sock.close()

    def _serve(self, conn: socket.socket) -> None:
        held, owner = 0, ""
        try:
            with conn, conn.makefile("rwb") as stream:
                for line in stream:
                    verb, _, arg = line.decode().strip().partition(" ")
                    if verb == "acquire":
                        owner = arg
                        self.limiter.acquire(owner)
                        held += 1
                        stream.write(b"ok\n")
                        stream.flush()
                    elif verb == "release" and held:
                        held -= 1
                        self.limiter.release(owner, arg == "busy")
        except OSError:
            pass
        finally:
            for _ in range(held):
                self.limiter.release(owner)


class SlotClient:
    """`slot()` is the GLM client's request_slot hook: a context manager held around each request."""

    def __init__(self, address: str, owner: str):
        host, _, port = address.rpartition(":")
        self._address, self._owner = (host, int(port)), owner.replace(" ", "_") or "task"
        self._stream = None

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        stream = self._acquire()
        busy = False
        try:
            yield
        except BaseException as exc:
            busy = str(getattr(exc, "code", "")) in ("1302", "1303")
            raise
        finally:
            if stream is not None:
                try:
                    stream.write(b"release busy\n" if busy else b"release ok\n")
                    stream.flush()
                except OSError:
                    self._drop()

    def _acquire(self):
        try:
            if self._stream is None:
                self._sock = socket.create_connection(self._address, timeout=10)
                self._sock.settimeout(None)  # waiting for a slot may take long: the run's deadline ends it
                self._stream = self._sock.makefile("rwb")
            self._stream.write(f"acquire {self._owner}\n".encode())
            self._stream.flush()
            if self._stream.readline().strip() == b"ok":
                return self._stream
        except OSError as exc:  # the batch went away: go on unlimited rather than fail the task
            log.warning("request slots at %s:%d unreachable (%s); going on without", *self._address, exc)
        except BaseException:  # interrupted while waiting: the closed connection hands back a late grant
            self._drop()
            raise
        self._drop()
        return None

    def _drop(self) -> None:
        if self._stream is not None:
            for closable in (self._stream, self._sock):  # the socket too when the stream's flush fails
                with contextlib.suppress(OSError):
                    closable.close()
            self._stream = None
