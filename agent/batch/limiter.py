"""The batch's one limit on model requests in flight, shared by every task (threads here, or a Ray actor).

GLM's concurrency error (1302, and 1303 for request rate) halves the allowance for the whole batch; requests
that go through win it back one at a time. A task that ends while holding slots gives them back (release_owner).
"""
from __future__ import annotations

import threading
from collections import Counter


class Limiter:
    """At most `limit` requests at once, fewer after GLM said it is busy."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError("the request limit must be at least 1")
        self.limit = self.allowed = limit
        self.in_use = self.peak = self.busy = self._ok_streak = 0
        self._held: Counter[str] = Counter()
        self._cond = threading.Condition()

    def acquire(self, owner: str) -> None:
        with self._cond:
            while self.in_use >= self.allowed:
                self._cond.wait()
            self.in_use += 1
            self.peak = max(self.peak, self.in_use)
            self._held[owner] += 1

    def release(self, owner: str, busy: bool = False) -> None:
        with self._cond:
            if self._held[owner] <= 0:
                return
            self._held[owner] -= 1
            self.in_use -= 1
            if busy:
                self.busy += 1
                self.allowed = max(1, self.allowed // 2)
                self._ok_streak = 0
            else:
                self._ok_streak += 1
                if self.allowed < self.limit and self._ok_streak >= 2 * self.allowed:
                    self.allowed += 1
                    self._ok_streak = 0
            self._cond.notify_all()

    def release_owner(self, owner: str) -> None:
        """Whatever a finished or cancelled task still holds (its process died mid-request)."""
        with self._cond:
            self.in_use -= self._held.pop(owner, 0)
            self._cond.notify_all()

    def stats(self) -> dict:
        with self._cond:
            return {"limit": self.limit, "allowed": self.allowed, "peak": self.peak, "busy_errors": self.busy}
