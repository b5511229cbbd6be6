"""The MCP SDK (asyncio) driven from the synchronous run: one event loop on a background thread, one task per
server holding its connection open, and every call waited for with its own timeout."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Awaitable, TypeVar

T = TypeVar("T")


class CallFailed(Exception):
    """A call that got no answer (the server crashed, hung past the timeout, or refused at the protocol level)."""


class LoopThread:
    """An asyncio event loop on a daemon thread; `run` waits for a coroutine from the calling thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="glm-agent-mcp", daemon=True)
        self._thread.start()

    def run(self, coroutine: Awaitable[T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:g}s") from None

    def stop(self) -> None:
        try:
            self.run(self.loop.shutdown_asyncgens(), 5)
        except Exception:  # noqa: BLE001 - stopping goes on regardless
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()


class Connection:
    """One server's connection, opened and closed by one task (anyio scopes must end in the task that began them)."""

    def __init__(self, name: str, target: Any):
        self.name, self._target = name, target  # a Transport or a URL, as mcp.Client takes it
        self.client: Any = None
        self.failure: str | None = None  # why the connection is gone, once it is
        self._ready: asyncio.Future | None = None
        self._closing: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def open(self) -> list[Any]:
        """Connect and list the server's tools (every page)."""
        self._ready, self._closing = asyncio.get_running_loop().create_future(), asyncio.Event()
        self._task = asyncio.create_task(self._hold())
        await asyncio.shield(self._ready)
        tools, cursor = [], None
        while True:
            page = await self.client.list_tools(cursor=cursor)
            tools += page.tools
            cursor = page.next_cursor
            if not cursor:
                return tools

    async def _hold(self) -> None:
        from mcp import Client

        try:
            async with Client(self._target, mode="legacy") as client:
                self.client = client
                self._ready.set_result(None)
                await self._closing.wait()
        except BaseException as exc:  # noqa: BLE001 - whatever ended the connection is reported, not raised here
            self.failure = _describe(exc)
            if not self._ready.done():
                self._ready.set_exception(CallFailed(self.failure))
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            self.failure = self.failure or "the connection was closed"

    async def call(self, tool: str, arguments: dict, timeout: float) -> Any:
        if self.failure is not None or self.client is None:
            raise CallFailed(f"the server is not running ({self.failure})")
        try:
            return await asyncio.wait_for(self.client.call_tool(tool, arguments, read_timeout_seconds=timeout), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no answer within {timeout:g}s") from None
        except Exception as exc:  # protocol errors, a closed stream: the server crashed or refused
            raise CallFailed(self.failure or _describe(exc)) from None

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except BaseException:  # noqa: BLE001 - closing must not fail the run; the processes are killed after
                pass


def _describe(exc: BaseException) -> str:
    """The innermost message of an exception (anyio wraps task failures in groups)."""
    while getattr(exc, "exceptions", None):  # an ExceptionGroup (3.11+, or anyio's backport)
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
