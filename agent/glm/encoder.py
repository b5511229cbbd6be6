"""Per-client request encoding: each call checks and JSON-encodes only the parts of the body it has not seen yet.

The loop's history is append-only and its tool list fixed, so nearly all of a request was already checked and
encoded by the previous step. The encoder keeps every top-level field, and every message by its position, with
the object it came from, a structural snapshot of it and its JSON. A part is reused only while it is the same
object and still equal to its snapshot: a message edited in place (the loop shortens old tool results that way)
or replaced is checked and encoded again. The snapshot shares the strings of the original, so `==` against it
runs in C and skips them by identity: the guard costs a small fraction of encoding. (Equality cannot tell 1 from
1.0 or True, nor see keys merely reordered: the loop's messages hold strings, and key order means nothing to GLM.)
"""
from __future__ import annotations

import json
import operator
import threading
from typing import Any, Sequence

from glm_agent.glm.request import (
    messages_problem,
    options_problem,
    rejected,
    tools_problem,
)

# The encoding httpx (>= 0.28) gives a `json=` body: UTF-8, compact, NaN refused.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class _Seen:
    """A value with its JSON, valid for another value only if that is the same object, unchanged since."""

    __slots__ = ("value", "snapshot", "json")

    def __init__(self, value: Any, json_text: bytes):
        self.value, self.snapshot, self.json = value, _snapshot(value), json_text

    def fits(self, value: Any) -> bool:
        return value is self.value and value == self.snapshot


class RequestEncoder:
    """Checks request bodies as GLM would and encodes them to JSON bytes, reusing what earlier calls did."""

    def __init__(self) -> None:
        self._fields: dict[str, _Seen] = {}  # top-level fields other than messages, JSON as `"key":value`
        # The messages encoded so far, by position, in three lists so that checking them all is a few C loops.
        self._sent: list[Any] = []
        self._snapshots: list[Any] = []
        self._json: list[bytes] = []  # each one's JSON, after a comma for all but the first
        self._lock = threading.Lock()  # one client may serve several threads

    def encode(self, body: dict) -> bytes:
        """The body as it is sent; raises BadRequestError (nothing sent) for what GLM would reject or misread.

        Messages checked before and unchanged passed the same per-message rules then, so the first problem
        among the others is the first problem of the whole history."""
        with self._lock:
            messages = body.get("messages")
            unseen = self._unseen(messages) if isinstance(messages, list) else range(0)
            problem = options_problem(body) or self._tools_problem(body.get("tools")) \
                or messages_problem(messages, unseen)
            if problem:
                raise rejected(problem)
            for i in unseen:
                self._remember(i, messages[i])
            del self._sent[len(messages):], self._snapshots[len(messages):], self._json[len(messages):]
            return self._joined(body)

    def _joined(self, body: dict) -> bytes:
        """The body from the JSON of its parts, in its own key order, in one join: megabytes are copied once."""
        out: list[bytes] = []
        for key, value in body.items():
            out.append(b"," if out else b"{")
            if key == "messages":
                out.append(b'"messages":[')
                out += self._json
                out.append(b"]")
            else:
                out.append(self._field(key, value).json)
        out.append(b"}")
        return b"".join(out)

    def _unseen(self, messages: list) -> Sequence[int]:
        """Positions whose message is not the same object, unchanged, as the one encoded there last time."""
        sent, snapshots, known = self._sent, self._snapshots, len(self._sent)
        if len(messages) >= known and all(map(operator.is_, sent, messages)) and snapshots == messages[:known]:
            return range(known, len(messages))  # the usual step: only appended messages are new
        return [i for i, message in enumerate(messages)
                if i >= known or message is not sent[i] or message != snapshots[i]]

    def _remember(self, i: int, message: Any) -> None:
        text = (b"," if i else b"") + _dumps(message).encode()  # encoded first: json's errors, not the copy's
        entry = message, _snapshot(message), text
        if i < len(self._sent):
            self._sent[i], self._snapshots[i], self._json[i] = entry
        else:
            self._sent.append(entry[0])
            self._snapshots.append(entry[1])
            self._json.append(entry[2])

    def _tools_problem(self, tools: Any) -> str | None:
        known = self._fields.get("tools")
        return None if known is not None and known.fits(tools) else tools_problem(tools or [])

    def _field(self, key: str, value: Any) -> _Seen:
        known = self._fields.get(key)
        if known is None or not known.fits(value):
            known = self._fields[key] = _Seen(value, _dumps(key).encode() + b":" + _dumps(value).encode())
        return known


def _snapshot(value: Any) -> Any:
    """A copy of the containers in `value` (its strings and numbers shared): equal to it until it is changed."""
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_snapshot(item) for item in value)
    return value
