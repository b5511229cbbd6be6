"""Incremental server-sent-events framing: bytes as they arrive in, complete `data` payloads out.

Network reads can cut anywhere (inside an event, a line or a multi-byte UTF-8 character); lines are only
decoded once complete, so a split character is reassembled. Comment (":") lines and fields other than
`data` are skipped, as the official SDK does.
"""
from __future__ import annotations


class SSEDecoder:
    """Feed raw bytes; get back the data payload of every event completed by them."""

    def __init__(self) -> None:
        self._tail = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[str]:
        lines = (self._tail + chunk).split(b"\n")
        self._tail = lines.pop()
        return self._events(lines)

    def close(self) -> list[str]:
        """Flush at end of stream: a last event without its blank line still counts."""
        lines = [self._tail, b""] if self._tail else [b""]
        self._tail = b""
        return self._events(lines)

    def _events(self, lines: list[bytes]) -> list[str]:
        """The events these complete lines end (one loop, no call per line: a GLM answer is one frame per token)."""
        events: list[str] = []
        data = self._data
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    events.append(b"\n".join(data).decode("utf-8"))
                    data.clear()
            elif line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])
        return events
