"""The stand-in's prompt accounting: a request's size (~chars/4 of its tools and messages), the prefix cache
(cached = the longest common prefix with recent prompts) and an optional enforced context window."""
from __future__ import annotations

import threading

from glm_agent.testing import render
from glm_agent.testing.script import ERROR_MESSAGES

_REMEMBERED_PROMPTS = 8


class PromptLedger:
    """Sizes requests the way the stand-in reports them, remembers recent prompts for the cache figure."""

    def __init__(self, context_window: int | None = None):
        """`context_window`: tokens a prompt may have (chars/4 estimate); None: no limit."""
        self.context_window = context_window
        self.refused = 0  # requests answered 1261
        self._prompts: list[str] = []
        self._lock = threading.Lock()

    @staticmethod
    def prompt_text(body: dict) -> str:
        """What is counted: the tool list first, then the messages (the order GLM's template renders them)."""
        return render.dumps([body.get("tools") or [], body.get("messages")])

    def refusal(self, body: dict, flavor: str) -> tuple[int, str, str] | None:
        """(status, code, message) for a prompt over the window, else None: Z.ai's 400 / 1261 (glm-api.md
        section 5), or vLLM's 400 naming the maximum context length (the OpenAI flavour)."""
        if self.context_window is None:
            return None
        tokens = len(self.prompt_text(body)) // 4
        if tokens <= self.context_window:
            return None
        self.refused += 1
        if flavor == "zai":
            return 400, "1261", ERROR_MESSAGES["1261"]
        return 400, "400", (f"This model's maximum context length is {self.context_window} tokens. However, "
                            f"your request has {tokens} input tokens.")

    def cached(self, body: dict) -> tuple[int, int]:
        """(prompt tokens, cached tokens) of a request that is answered; it becomes a prompt to share with."""
        prompt = self.prompt_text(body)
        with self._lock:
            cached_chars = max((_common_prefix(prompt, earlier) for earlier in self._prompts), default=0)
            self._prompts = (self._prompts + [prompt])[-_REMEMBERED_PROMPTS:]
        return max(1, len(prompt) // 4), cached_chars // 4


def _common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix, by binary search over C-level slice comparisons."""
    if a.startswith(b):  # the usual agent case: this prompt extends an earlier one
        return len(b)
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
