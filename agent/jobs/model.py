"""The model a job talks to: the GLM client built from the config, warming up the answer code once a request is out."""
from __future__ import annotations

import functools
import os
from typing import Callable

from glm_agent.config.settings import Config
from glm_agent.jobs.background import InBackground


def build_client(config: Config, on_retry: Callable[[Exception, float], None] | None = None):
    """The GLM client for the configured endpoint; the key comes from ZAI_API_KEY."""
    from glm_agent.glm.client import GLMClient

    m = config.model
    return GLMClient(m.base_url, None, m.name, endpoint=m.endpoint, dialect=m.dialect, thinking=m.thinking,
                     tool_stream=m.tool_stream, temperature=m.temperature, top_p=m.top_p, max_tokens=m.max_tokens,
                     timeout=m.timeout, connect_timeout=m.connect_timeout, max_retries=m.max_retries,
                     backoff=m.backoff, prices=m.prices, on_retry=on_retry, on_sent=load_answer_code_in_background,
                     request_slot=batch_request_slot())


def batch_request_slot():
    """A task of `glm-agent batch` asks the batch for a slot before each request (its limit is for the whole batch)."""
    address = os.environ.get("GLM_AGENT_REQUEST_SLOTS")
    if not address:
        return None
    from glm_agent.batch.slots import SlotClient

    return SlotClient(address, os.environ.get("GLM_AGENT_REQUEST_OWNER", "")).slot


@functools.lru_cache(maxsize=None)  # once per process
def load_answer_code_in_background() -> None:
    """Once the first request is out, import in a thread what reading the answer and running its tool calls
    needs (pydantic, the response and tool argument models: ~0.2 s): the model's thinking hides it."""
    def load() -> None:
        import glm_agent.glm.response  # noqa: F401  (the import is the point)
        import glm_agent.tools.schemas  # noqa: F401

    InBackground("warm-up", load)
