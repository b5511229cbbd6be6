"""`glm-agent doctor`: check config, key, endpoint reachability and one tiny request; print a diagnosis.

Exit codes: 0 all good, 2 configuration problem (no key, unknown endpoint/dialect), 3 API problem.
The key is never printed: only that it is set, its length and (for long keys) its last four characters.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from typing import TextIO
from urllib.parse import urlsplit

from glm_agent.glm import errors
from glm_agent.glm.endpoints import DIALECTS, ENDPOINTS, is_loopback, resolve_base_url

OK, CONFIG_PROBLEM, API_PROBLEM = 0, 2, 3
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def describe_key(key: str) -> str:
    """What may be shown about a key: set, its length, and the last 4 characters only for long keys."""
    tail = f", ends with ...{key[-4:]}" if len(key) >= 20 else ""
    return f"set ({len(key)} characters{tail})"


def _reachable(base_url: str, timeout: float) -> str | None:
    """None when a TCP connection to the endpoint's host opens, else the reason."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return None
    except ConnectionRefusedError:
        return (f"connection refused: nothing listens on {parts.hostname}:{port}; is the server running and "
                "the base URL right?")
    except socket.gaierror as exc:
        return f"cannot resolve {parts.hostname!r} ({exc}): offline, or a typo in the base URL?"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def diagnose(exc: errors.GLMError, endpoint: str, model: str) -> str:
    """One sentence a user can act on, for the failure of the test request."""
    if isinstance(exc, errors.AuthenticationError):
        return "bad key: the service rejected it (invalid, expired, or for another region/plan)"
    if exc.code == "1113":
        return (f"wrong endpoint for the key (or no balance): a Coding-Plan key needs --endpoint coding, a "
                f"pay-as-you-go key the general endpoint (now: {endpoint})")
    if exc.code == "1211" or (isinstance(exc, errors.BadRequestError) and "model" in exc.message.lower()):
        return f"unknown model {model!r}: check --model (lowercase, e.g. glm-4.6)"
    if isinstance(exc, errors.NetworkError) and exc.hint == errors.HINT_TIMEOUT:
        return "no answer: the endpoint accepts connections but did not answer in time (stuck, or not GLM?)"
    if isinstance(exc, errors.NetworkError):
        return "no network: the endpoint cannot be reached (proxy, firewall, offline?)"
    if isinstance(exc, errors.QuotaError):
        return "quota or plan problem: see the message (balance, plan limits, plan lacks the model)"
    if isinstance(exc, (errors.RateLimitError, errors.OverloadedError, errors.ServerError)):
        return "the service is busy or failing right now; the key and endpoint look fine, try again later"
    return f"the test request failed: {type(exc).__name__}"


def run_doctor(*, base_url: str | None = None, api_key: str | None = None, model: str = "glm-4.6",
               endpoint: str = "general", dialect: str = "zai", out: TextIO | None = None,
               connect_timeout: float = 8.0, timeout: float = 60.0) -> int:
    """Run the checks, print each result to `out`, and return the exit code."""
    out = out or sys.stdout

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    if dialect not in DIALECTS:
        say(f"FAIL config: unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
        return CONFIG_PROBLEM
    try:
        url = resolve_base_url(base_url, endpoint)
    except ValueError:
        say(f"FAIL config: unknown endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)} or --base-url")
        return CONFIG_PROBLEM
    say(f"ok   config: model {model}, dialect {dialect}, base URL {url}")
    key = os.environ.get("ZAI_API_KEY") if api_key is None else api_key
    if not key:
        say("FAIL key: ZAI_API_KEY is not set (export it, or put it in your environment before running)")
        return CONFIG_PROBLEM
    say(f"ok   key: {describe_key(key)}")
    if not is_loopback(url) and any(os.environ.get(v) for v in PROXY_VARIABLES):
        say("skip network: a proxy is configured; the test request goes through it")
        return _test_request(url, key, model, endpoint, dialect, (connect_timeout, timeout), say)
    reason = _reachable(url, connect_timeout)
    if reason is not None:
        say(f"FAIL network: cannot connect to {urlsplit(url).netloc} ({reason})")
        say("diagnosis: " + ("wrong address: nothing answers there (start the server or fix --base-url)"
                             if reason.startswith("connection refused") else
                             "no network: the endpoint cannot be reached (proxy, firewall, offline?)"))
        return API_PROBLEM
    say(f"ok   network: {urlsplit(url).netloc} accepts connections")
    return _test_request(url, key, model, endpoint, dialect, (connect_timeout, timeout), say)


def _test_request(url: str, key: str, model: str, endpoint: str, dialect: str, timeouts: tuple[float, float],
                  say) -> int:
    from glm_agent.glm.client import GLMClient

    started = time.monotonic()
    try:
        with GLMClient(url, api_key=key, model=model, dialect=dialect, thinking=False, max_tokens=16,
                       max_retries=0, timeout=timeouts[1], connect_timeout=timeouts[0]) as client:
            turn = client.complete([{"role": "user", "content": "Reply with the word: ok"}], stream=False)
    except errors.GLMError as exc:
        say(f"FAIL request: {exc}")
        say(f"diagnosis: {diagnose(exc, endpoint, model)}")
        return API_PROBLEM
    elapsed = time.monotonic() - started
    say(f"ok   request: {model} answered in {elapsed:.1f}s (finish {turn.finish_reason}, "
        f"{turn.usage.total_tokens} tokens, request_id {turn.request_id})")
    say("diagnosis: all good")
    return OK
