"""The synchronous GLM-4.6 chat-completions client: one call in, one AssistantTurn (or a typed GLMError) out.

Speaks Z.ai's dialect (business error codes, `thinking`, `tool_stream`) and the OpenAI dialect of vLLM,
SGLang and relays such as OpenRouter. Retries are decided by the business code (see glm_agent.glm.errors); a broken
stream is retried as a whole. The API key is kept out of repr, logs and exception messages.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import math
import os
import random
import time
from datetime import timezone
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Mapping

import httpx
from glm_agent.core.turn import AssistantTurn, OnDelta, ToolCall
from glm_agent.glm import errors
from glm_agent.glm.encoder import RequestEncoder
from glm_agent.glm.endpoints import COMPLETIONS, DIALECTS, is_loopback, resolve_base_url
from glm_agent.glm.errors import GLMError
from glm_agent.glm.markup import parse_leaked_calls
from glm_agent.glm.pricing import cost_usd
from glm_agent.glm.request import build_request
from glm_agent.glm.sse import SSEDecoder

if TYPE_CHECKING:
    from glm_agent.glm.response import TurnBuilder

log = logging.getLogger("glm_agent.glm.client")

_CLIENT_DEFAULT: Any = object()  # sentinel: "use the client's setting"


class GLMClient:
    """Sends chat-completions requests to GLM and returns parsed turns; use as a context manager or close()."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, model: str = "glm-4.6", *,
                 endpoint: str = "general", dialect: str = "zai", thinking: bool | str | None = None,
                 tool_stream: bool = True, temperature: float | None = None, top_p: float | None = None,
                 max_tokens: int | None = 16384, stop: str | list[str] | None = None, timeout: float = 300.0,
                 connect_timeout: float = 8.0, max_retries: int = 3, backoff: tuple[float, float] = (1.0, 30.0),
                 prices: Mapping[str, Any] | None = None, transport: httpx.BaseTransport | None = None,
                 extra_body: dict | None = None, sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[GLMError, float], None] | None = None,
                 on_sent: Callable[[], None] | None = None, deadline: float | None = None,
                 request_slot: Callable[[], ContextManager[Any]] | None = None):
        """`on_sent()` is called each time a request has gone out whole: while the model thinks, the caller may
        do work that overlaps its answer. `max_tokens` None leaves the field out (GLM's own default).

        `deadline` (time.monotonic() seconds, also settable as the attribute; the agent loop sets it from the
        run's time limit): a retry whose wait would end past it is not made, the error is raised instead.

        `request_slot()` (a context manager factory) is held around each request, its error included: a batch
        uses it to share one limit on requests in flight across its tasks."""
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
        self.base_url = resolve_base_url(base_url, endpoint)
        self.model, self.dialect, self.endpoint = model, dialect, endpoint
        self.thinking, self.tool_stream = thinking, tool_stream
        self.temperature, self.top_p, self.max_tokens, self.stop = temperature, top_p, max_tokens, stop
        self.max_retries, self.backoff, self.prices, self.extra_body = max_retries, backoff, prices, extra_body
        self._sleep, self._on_retry, self.deadline = sleep, on_retry, deadline
        self._slot = request_slot or contextlib.nullcontext
        self._extensions = {"trace": _when_sent(on_sent)} if on_sent is not None else {}
        self._encoder = RequestEncoder()  # keeps what earlier requests encoded: the history is append-only
        self._url: tuple[str, httpx.URL] | None = None
        self.__key = _checked_key(os.environ.get("ZAI_API_KEY") or None if api_key is None else api_key)
        # Plain-http endpoints (stand-in, local vLLM) never use TLS: skip loading CA certificates (slow start-up).
        # A proxy from the environment cannot reach this machine's loopback: never send loopback through it.
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=connect_timeout), transport=transport,
                                  verify=not self.base_url.startswith("http://"),
                                  trust_env=not is_loopback(self.base_url))

    def __repr__(self) -> str:
        key_state = "set" if self.__key else "none"
        return (f"GLMClient(base_url={self.base_url!r}, model={self.model!r}, dialect={self.dialect!r}, "
                f"api_key=<{key_state}>)")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(self, messages: list[dict], tools: list[dict] | None = None, *, stream: bool = True,
                 on_delta: OnDelta | None = None, thinking: bool | str | None = _CLIENT_DEFAULT) -> AssistantTurn:
        """One model turn. Retries retryable failures (whole stream included); raises GLMError otherwise.

        `thinking` overrides the client's setting for this call (GLM-4.6 tool calling is sometimes better
        with thinking off)."""
        thinking = self.thinking if thinking is _CLIENT_DEFAULT else thinking
        body = build_request(model=self.model, messages=messages, tools=tools, stream=stream,
                             dialect=self.dialect, thinking=thinking, tool_stream=self.tool_stream,
                             temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens,
                             stop=self.stop, extra=self.extra_body)
        payload = self._encoder.encode(body)  # raises BadRequestError for what GLM would reject
        attempt = 0
        while True:
            try:
                with self._slot():
                    return self._attempt(payload, stream, on_delta, body.get("tools"))
            except GLMError as exc:
                if not exc.retryable or attempt >= self.max_retries:
                    raise
                delay = self._delay(attempt, exc.retry_after)
                if self.deadline is not None and time.monotonic() + delay >= self.deadline:
                    log.warning("GLM request failed (%s); no retry: its %.1fs wait would pass the deadline", exc, delay)
                    exc.out_of_time = True
                    raise
                attempt += 1
                log.warning("GLM request failed (%s); retry %d/%d in %.1fs", exc, attempt, self.max_retries, delay)
                if self._on_retry is not None:
                    self._on_retry(exc, delay)
                self._sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The server's Retry-After when it sent one, else capped exponential backoff with equal jitter (half
        fixed, half random); either way at most the cap, the configured maximum wait."""
        base, cap = self.backoff
        if retry_after is not None:
            return min(cap, retry_after)
        ceiling = min(cap, base * (2 ** attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _attempt(self, payload: bytes, stream: bool, on_delta: OnDelta | None,
                 tools: list[dict] | None) -> AssistantTurn:
        headers = {"Content-Type": "application/json", "Accept-Language": "en-US,en"}
        if self.__key:
            headers["Authorization"] = f"Bearer {self.__key}"
        builder: TurnBuilder | None = None  # made once the answer starts: reading needs pydantic, sending not
        try:
            with self._http.stream("POST", self._completions_url(), content=payload, headers=headers,
                                   extensions=self._extensions) as response:
                if response.status_code != 200:
                    raise self._http_error(response.status_code, response.read(),
                                           response.headers.get("retry-after"))
                builder = _reading().TurnBuilder(on_delta)
                if stream and "json" not in response.headers.get("content-type", ""):  # SSE, whatever its label
                    self._read_stream(response, builder)
                else:
                    self._read_json(response.read(), builder)
        except httpx.TimeoutException as exc:
            raise self._redacted(errors.NetworkError, f"timed out talking to {self.base_url}: {type(exc).__name__}",
                                 builder, hint=errors.HINT_CONNECT if isinstance(exc, httpx.ConnectTimeout)
                                 else errors.HINT_TIMEOUT) from None
        except httpx.ConnectError as exc:
            raise self._redacted(errors.NetworkError, f"cannot connect to {self.base_url}: {exc}", builder,
                                 hint=errors.HINT_CONNECT) from None
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:  # retrying won't help
            raise self._redacted(errors.BadRequestError, f"request not sent to {self.base_url}: {exc}", builder,
                                 hint=errors.HINT_URL) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.DecodingError) as exc:
            raise self._redacted(errors.StreamInterruptedError, f"connection broke off: {exc}", builder) from None
        except httpx.TransportError as exc:
            raise self._redacted(errors.NetworkError, f"transport error with {self.base_url}: {exc}",
                                 builder) from None
        return self._finish(builder, tools)

    def _completions_url(self) -> httpx.URL:
        """The endpoint, parsed once: from a string httpx would parse it again for every request."""
        url = self.base_url + COMPLETIONS
        if self._url is None or self._url[0] != url:
            self._url = url, httpx.URL(url)
        return self._url[1]

    def _read_stream(self, response: httpx.Response, builder: TurnBuilder) -> None:
        decoder = SSEDecoder()
        done = False
        try:
            for chunk in response.iter_bytes():  # read on after [DONE] so the connection can be reused
                if not done:
                    done = any(self._frame(data, builder) for data in decoder.feed(chunk))
            if done or any(self._frame(data, builder) for data in decoder.close()):
                return
        except UnicodeDecodeError:
            raise self._redacted(errors.StreamInterruptedError, "stream frame is not valid UTF-8",
                                 builder) from None
        if builder.finish_reason is None:
            raise errors.StreamInterruptedError("stream ended before [DONE] and without a finish_reason",
                                                request_id=builder.request_id)

    def _frame(self, data: str, builder: TurnBuilder) -> bool:
        """Handle one SSE payload; True at [DONE]."""
        if data.strip() == "[DONE]":
            return True
        try:
            chunk = _reading().parse_body(data)
        except ValueError:
            raise self._redacted(errors.StreamInterruptedError, f"malformed stream frame: {data[:120]!r}",
                                 builder) from None
        failure = chunk.error_fields()
        if failure is not None:
            code, message = failure
            raise self._typed(None, code, f"in-stream error: {message}", builder.request_id or chunk.id)
        builder.add(chunk, stream=True)
        return False

    def _read_json(self, raw: bytes, builder: TurnBuilder) -> None:
        try:
            parsed = _reading().parse_body(raw)
        except ValueError:
            raise self._redacted(errors.StreamInterruptedError, f"malformed response body: {raw[:120]!r}",
                                 builder) from None
        failure = parsed.error_fields()
        if failure is not None:
            raise self._typed(200, failure[0], failure[1], parsed.request_id or parsed.id)
        if parsed.choices is None:
            raise self._redacted(errors.StreamInterruptedError, f"response without choices: {raw[:120]!r}",
                                 builder)
        builder.add(parsed, stream=False)

    def _http_error(self, status: int, raw: bytes, retry_after: str | None = None) -> GLMError:
        try:
            parsed = _reading().parse_body(raw)
            code, message = parsed.error_fields() or (None, raw.decode("utf-8", "replace")[:500])
            request_id = parsed.request_id
        except ValueError:
            code, message, request_id = None, raw.decode("utf-8", "replace")[:500], None
        wait = _retry_after_seconds(retry_after) if status in (429, 503) else None
        return self._typed(status, code, message, request_id, wait)

    def _typed(self, status: int | None, code: str | None, message: str, request_id: str | None,
               retry_after: float | None = None) -> GLMError:
        return errors.make_error(status, code, self._redact(message), request_id, retry_after)

    def _redacted(self, cls: type[GLMError], message: str, builder: TurnBuilder | None,
                  hint: str | None = None) -> GLMError:
        return cls(self._redact(message), request_id=builder.request_id if builder else None, hint=hint)

    def _redact(self, text: str) -> str:
        return text.replace(self.__key, "<redacted>") if self.__key else text

    def _finish(self, builder: TurnBuilder, tools: list[dict] | None) -> AssistantTurn:
        turn = builder.turn()
        if turn.content and not turn.tool_calls:  # GLM quirk 12: a call leaked as <tool_call> text
            turn.content, leaked = parse_leaked_calls(turn.content, tools)
            turn.tool_calls = [ToolCall(f"call_{turn.request_id or 'leaked'}_{i}", name, arguments)
                               for i, (name, arguments) in enumerate(leaked)]
        turn.model = turn.model or self.model
        turn.cost_usd = cost_usd(self.model, turn.usage, self.prices)
        reason, rid = turn.finish_reason, turn.request_id
        if reason == "sensitive":
            raise errors.ContentFilteredError("the answer was blocked by the content filter (finish_reason "
                                              "sensitive)", code="sensitive", request_id=rid)
        if reason == "model_context_window_exceeded":
            raise errors.ContextTooLongError("the context window is full (finish_reason "
                                             "model_context_window_exceeded)", code=reason, request_id=rid,
                                             hint="compact the conversation; never 'continue'")
        if reason == "network_error":
            raise errors.StreamInterruptedError("inference failed on the service side (finish_reason "
                                                "network_error)", code=reason, request_id=rid)
        if not (turn.content or "").strip() and not turn.tool_calls and not turn.reasoning_content \
                and turn.usage.total_tokens == 0 and turn.usage.prompt_tokens == 0:
            if reason is None:  # not even a finish_reason: the answer broke off before it began
                raise errors.StreamInterruptedError("the answer was empty, without a finish_reason", request_id=rid)
            raise errors.EmptyReplyError("HTTP 200 with no content, no tool calls and zero usage",
                                         code="empty", request_id=rid, hint=errors.HINT_EMPTY)
        return turn


def _retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds from now (RFC 9110 section 10.2.3: delay-seconds or an HTTP date; a past
    date is 0); None when absent or unreadable (the backoff applies then)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


@functools.cache
def _reading() -> ModuleType:
    """glm_agent.glm.response, imported when the first answer arrives: loading pydantic and its models before the
    first request would delay it by over 100 ms."""
    return importlib.import_module("glm_agent.glm.response")


def _checked_key(key: str | None) -> str:
    """The key as it can go into a header: surrounding whitespace (a pasted newline) dropped; anything else a
    header cannot carry is refused here, with a message that never contains the key."""
    if key is None:
        raise errors.AuthenticationError(
            "no API key: set ZAI_API_KEY or pass api_key (use api_key='' for a server without auth)",
            code="local", hint=errors.HINT_AUTH)
    key = key.strip()
    if not all(33 <= ord(ch) < 127 for ch in key):
        raise errors.AuthenticationError(
            "the API key contains spaces, control or non-ASCII characters, which an HTTP header cannot carry: "
            "check ZAI_API_KEY for a copy-paste error", code="local", hint=errors.HINT_AUTH)
    return key


def _when_sent(callback: Callable[[], None]) -> Callable[[str, dict], None]:
    """An httpcore trace hook that calls `callback` once a request's body has been sent (HTTP/1.1)."""
    def trace(event: str, info: dict) -> None:
        if event == "http11.send_request_body.complete":
            callback()
    return trace
