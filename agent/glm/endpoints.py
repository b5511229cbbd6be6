"""Where GLM lives: the Z.ai endpoint names, the wire dialects, and the base URL a run talks to.

Kept apart from the client so that `glm-agent --help` and the doctor's argument parsing need no httpx.
"""
from __future__ import annotations

from urllib.parse import urlsplit

ENDPOINTS = {
    "general": "https://api.z.ai/api/paas/v4",
    "coding": "https://api.z.ai/api/coding/paas/v4",
    "mainland": "https://open.bigmodel.cn/api/paas/v4",
    "mainland-coding": "https://open.bigmodel.cn/api/coding/paas/v4",
}
DIALECTS = ("zai", "openai")
COMPLETIONS = "/chat/completions"


def resolve_base_url(base_url: str | None, endpoint: str) -> str:
    """An explicit base URL wins (a pasted full `.../chat/completions` URL is cut back to its base); otherwise
    the named Z.ai endpoint."""
    if base_url:
        base = base_url.rstrip("/")
        return base[: -len(COMPLETIONS)] if base.endswith(COMPLETIONS) else base
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {sorted(ENDPOINTS)} or a base_url")
    return ENDPOINTS[endpoint]


def is_loopback(url: str) -> bool:
    """A server on this machine: the client never sends it through an environment proxy (none could reach it)."""
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")
