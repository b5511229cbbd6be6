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
        events: list[str] = []
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[str]:
        """Flush at end of stream: a last event without its blank line still counts."""
        events: list[str] = []
        if self._tail:
            self._line(self._tail, events)
            self._tail = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[str]) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            if self._data:
                events.append(b"\n".join(self._data).decode("utf-8"))
                self._data = []
            return
        if line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
