"""Typed GLM errors and the one table that maps a business code / HTTP status to a type, retry flag and hint.

Retry is decided by the business code first (Z.ai answers HTTP 429 for both retryable concurrency limits
and non-retryable billing problems), then by the HTTP status for codes we do not know.
"""
from __future__ import annotations


class GLMError(Exception):
    """Any failure talking to GLM; carries what a user or a retry policy needs, never the API key."""

    retryable_default = False

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 request_id: str | None = None, hint: str | None = None, retryable: bool | None = None,
                 retry_after: float | None = None):
        """`retry_after`: the seconds the server asked to wait (its Retry-After header on a 429 or 503).
        `out_of_time` is set by the client when a retry was due but its wait would have passed the deadline."""
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.hint = hint
        self.retryable = self.retryable_default if retryable is None else retryable
        self.retry_after = retry_after
        self.out_of_time = False
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        text = f"{' '.join(parts)}: {self.message}" if parts else self.message
        if self.request_id:
            text += f" (request_id {self.request_id})"
        if self.hint:
            text += f" -- hint: {self.hint}"
        return text


class AuthenticationError(GLMError):
    """Missing, invalid or expired key (1000-1004), or an account problem (11xx)."""


class QuotaError(GLMError):
    """Billing, quota or plan problems (1113, 1304, 1308-1311, 1313): retrying does not help."""


class RateLimitError(GLMError):
    """Too many concurrent or too frequent requests (1302/1303)."""

    retryable_default = True


class OverloadedError(GLMError):
    """The platform or model is overloaded (1305/1312)."""

    retryable_default = True


class ContextTooLongError(GLMError):
    """The prompt does not fit (1261, finish_reason model_context_window_exceeded): compact, never continue."""


class ContentFilteredError(GLMError):
    """Input or output blocked by the safety filter (1301, finish_reason sensitive)."""


class BadRequestError(GLMError):
    """The request itself is wrong (12xx, or a local hygiene check failed before sending)."""


class ServerError(GLMError):
    """Transient failure on the service side (500, 5xx, 1200/1230/1234)."""

    retryable_default = True


class NetworkError(GLMError):
    """The service could not be reached or did not answer in time (connect error, timeout)."""

    retryable_default = True


class StreamInterruptedError(GLMError):
    """The answer broke off: dropped connection, malformed frame, or finish_reason network_error."""

    retryable_default = True


class EmptyReplyError(GLMError):
    """HTTP 200 with no content, no tool calls and zero usage (seen when a coding plan is out of quota)."""


HINT_1113 = ("a Coding-Plan key on the general endpoint (or the reverse) gives 1113: check --endpoint/base_url; "
             "otherwise the account has no balance or resource package")
HINT_AUTH = ("check ZAI_API_KEY: keys are tied to a region and plan (a z.ai key does not work on bigmodel.cn)")
HINT_CONNECT = "is the server running and the base URL right? (--base-url, --endpoint; a proxy or firewall?)"
HINT_TIMEOUT = "the server accepted the request but did not answer in time (model.timeout); busy or stuck?"
HINT_URL = ("no chat-completions endpoint at this URL (or only a redirect): check the base URL; it ends before "
            "/chat/completions, e.g. https://api.z.ai/api/paas/v4 or http://host:8000/v1")
HINT_EMPTY = "coding plan quota? the service answered 200 with nothing and zero usage"

_HINTS = {
    "1113": HINT_1113,
    "1211": "unknown model: check the model name (lowercase, e.g. glm-4.6) and that the endpoint serves it",
    "1214": "a request field is invalid (e.g. no user message, temperature > 1)",
    "1261": "the prompt is too long: compact the conversation",
    "1302": "too many requests in flight for this key: lower the concurrency",
    "1305": "the model is overloaded; this can also be a false positive triggered by prompt content",
    "1308": "coding plan usage cap reached: the message gives the reset time (Beijing time)",
    "1310": "coding plan usage cap reached: the message gives the reset time (Beijing time)",
    "1309": "the coding plan has expired",
    "1311": "the plan does not include this model",
    "1313": "fair-use restriction on the coding plan",
}

_BY_CODE: dict[str, type[GLMError]] = {
    **{str(c): AuthenticationError for c in (1000, 1001, 1002, 1003, 1004, 1100, 1110, 1111, 1112, 1120, 1121)},
    **{str(c): QuotaError for c in (1113, 1304, 1308, 1309, 1310, 1311, 1313)},
    "1302": RateLimitError, "1303": RateLimitError,
    "1305": OverloadedError, "1312": OverloadedError,
    "1261": ContextTooLongError,
    "1301": ContentFilteredError,
    "500": ServerError, "1200": ServerError, "1230": ServerError, "1234": ServerError,
}

_CONTEXT_PHRASES = ("maximum context length", "context length", "context_length_exceeded", "prompt is too long")


def error_class(status: int | None, code: str | None, message: str = "") -> type[GLMError]:
    """The exception type for an error answer: business code first, then the HTTP status."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status is None and code and code.isdigit() and len(code) == 3:  # in-stream errors of OpenAI-style hosts
        status = int(code)
    if code and code.isdigit() and len(code) == 4 and code.startswith("12"):
        return BadRequestError
    lowered = message.lower()
    if any(phrase in lowered for phrase in _CONTEXT_PHRASES):
        return ContextTooLongError
    if status in (401, 403):
        return AuthenticationError
    if status == 402:
        return QuotaError
    if status == 429:
        return RateLimitError
    if status == 413:
        return ContextTooLongError
    if status == 529:
        return OverloadedError
    if status in (408, 409) or (status is not None and status >= 500):
        return ServerError
    return BadRequestError


def make_error(status: int | None, code: str | None, message: str, request_id: str | None = None,
               retry_after: float | None = None) -> GLMError:
    """Build the typed error for an error body, with the hint for its code when the cause is common."""
    cls = error_class(status, code, message)
    hint = _HINTS.get(code or "")
    if hint is None and cls is AuthenticationError:
        hint = HINT_AUTH
    if hint is None and status in (301, 302, 307, 308, 404, 405):
        hint = HINT_URL
    return cls(message or "no error message", code=code, status=status, request_id=request_id, hint=hint,
               retry_after=retry_after)
