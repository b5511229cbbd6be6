"""Errors and retries: typed exceptions by business code, retry or not (counted at the stand-in), backoff."""
from __future__ import annotations

import socket

import pytest
from glm_agent import GLMClient
from glm_agent.glm import errors as e
from glm_agent.testing import Fault, Reply, StandIn

KEY = "sk-test-errors"
USER = [{"role": "user", "content": "hello"}]


def make(server: StandIn, sleeps: list[float] | None = None, **options) -> GLMClient:
    sleeps = [] if sleeps is None else sleeps
    options.setdefault("base_url", server.base_url)
    return GLMClient(api_key=KEY, sleep=sleeps.append, **options)


RETRYABLE = [
    (Fault.http(429, "1302"), e.RateLimitError),
    (Fault.http(429, "1303"), e.RateLimitError),
    (Fault.http(429, "1305"), e.OverloadedError),
    (Fault.http(429, "1312"), e.OverloadedError),
    (Fault.http(500, "500"), e.ServerError),
    (Fault.http(500, "1200"), e.ServerError),
    (Fault.http(500, "1230"), e.ServerError),
    (Fault.http(500, "1234"), e.ServerError),
    (Fault.http(503, "9999"), e.ServerError),
    (Fault.inband_error("1302"), e.RateLimitError),
    (Fault.drop_mid_stream(), e.StreamInterruptedError),
    (Fault.malformed_frame(), e.StreamInterruptedError),
    (Reply(content="half", finish_reason="network_error"), e.StreamInterruptedError),
]


@pytest.mark.parametrize("fault,kind", RETRYABLE)
def test_retryable_failures_are_retried_then_succeed(fault, kind):
    sleeps: list[float] = []
    with StandIn([fault, fault, Reply(content="finally")]) as server:
        turn = make(server, sleeps, max_retries=3, backoff=(0.5, 30.0)).complete(USER)
        assert len(server.requests) == 3
    assert turn.content == "finally"
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # exponential, jittered


@pytest.mark.parametrize("fault,kind", RETRYABLE)
def test_retryable_failures_give_up_after_max_retries(fault, kind):
    with StandIn([fault] * 3) as server:
        with pytest.raises(kind) as caught:
            make(server, max_retries=2).complete(USER)
        assert len(server.requests) == 3
    assert caught.value.retryable


NOT_RETRYABLE = [
    (Fault.http(429, "1113"), e.QuotaError, "1113"),
    (Fault.http(429, "1304"), e.QuotaError, "1304"),
    (Fault.http(429, "1308"), e.QuotaError, "1308"),
    (Fault.http(429, "1309"), e.QuotaError, "1309"),
    (Fault.http(429, "1310"), e.QuotaError, "1310"),
    (Fault.http(429, "1311"), e.QuotaError, "1311"),
    (Fault.http(429, "1313"), e.QuotaError, "1313"),
    (Fault.http(400, "1261"), e.ContextTooLongError, "1261"),
    (Fault.http(400, "1301"), e.ContentFilteredError, "1301"),
    (Fault.http(400, "1210"), e.BadRequestError, "1210"),
    (Fault.http(400, "1214"), e.BadRequestError, "1214"),
    (Fault.http(401, "1002"), e.AuthenticationError, "1002"),
    (Fault.http(401, "1000"), e.AuthenticationError, "1000"),
    (Fault.inband_error("1113"), e.QuotaError, "1113"),
    (Reply(content="", finish_reason="sensitive"), e.ContentFilteredError, "sensitive"),
    (Reply(content="", finish_reason="model_context_window_exceeded", usage={"prompt_tokens": 0,
                                                                            "completion_tokens": 0}),
     e.ContextTooLongError, "model_context_window_exceeded"),
    (Fault.empty_reply(), e.EmptyReplyError, "empty"),
]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("fault,kind,code", NOT_RETRYABLE)
def test_not_retryable_failures_raise_at_once(fault, kind, code, stream):
    sleeps: list[float] = []
    with StandIn([fault, Reply(content="never served")]) as server:
        with pytest.raises(kind) as caught:
            make(server, sleeps, max_retries=3).complete(USER, stream=stream)
        assert len(server.requests) == 1 and server.remaining == 1
    assert caught.value.code == code and not caught.value.retryable and sleeps == []


def test_1113_hint_names_the_endpoint_mixup():
    with StandIn([Fault.http(429, "1113")]) as server:
        with pytest.raises(e.QuotaError) as caught:
            make(server, base_url=server.url_for("/api/coding/paas/v4")).complete(USER)
    assert "Coding-Plan key on the general endpoint" in str(caught.value)
    assert "--endpoint" in caught.value.hint
    assert caught.value.status == 429


def test_empty_reply_hints_at_quota():
    with StandIn([Fault.empty_reply()]) as server:
        with pytest.raises(e.EmptyReplyError, match="coding plan quota"):
            make(server).complete(USER)


def test_length_is_a_normal_turn_even_with_empty_content():
    with StandIn([Reply(reasoning="thinking until the budget runs out", finish_reason="length")]) as server:
        turn = make(server).complete(USER)
    assert turn.finish_reason == "length" and turn.content == "" and turn.reasoning_content


def test_unknown_finish_reason_is_tolerated():
    with StandIn([Reply(content="ok", finish_reason="some_future_reason")]) as server:
        assert make(server).complete(USER).finish_reason == "some_future_reason"


def test_unknown_model_is_a_bad_request_with_hint():
    with StandIn([]) as server:
        with pytest.raises(e.BadRequestError) as caught:
            make(server, model="glm-9").complete(USER)
    assert caught.value.code == "1211" and "model" in caught.value.hint


def test_openai_dialect_errors_use_the_http_status():
    with StandIn([Fault.http(429, "429"), Fault.http(400, "400", "This model's maximum context length is 8 tokens")]) \
            as server:
        client = make(server, base_url=server.url_for("/v1"), dialect="openai", max_retries=0)
        with pytest.raises(e.RateLimitError):
            client.complete(USER)
        with pytest.raises(e.ContextTooLongError):
            client.complete(USER)


def test_connection_refused_is_a_network_error_retried():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    client = GLMClient(f"http://127.0.0.1:{port}/api/paas/v4", api_key=KEY, max_retries=2, sleep=sleeps.append)
    with pytest.raises(e.NetworkError, match="cannot connect"):
        client.complete(USER)
    assert len(sleeps) == 2


def test_read_timeout_is_a_network_error():
    with StandIn([Reply(content="slow"), Reply(content="slow")], latency=0.5) as server:
        with pytest.raises(e.NetworkError, match="timed out"):
            make(server, timeout=0.1, max_retries=1).complete(USER)
        assert len(server.requests) == 2


def test_on_retry_callback_sees_each_failure():
    seen = []
    with StandIn([Fault.http(429, "1305"), Reply(content="ok")]) as server:
        make(server, on_retry=lambda exc, delay: seen.append((exc.code, delay)), backoff=(0, 0)).complete(USER)
    assert seen == [("1305", 0.0)]


def test_backoff_is_capped():
    sleeps: list[float] = []
    with StandIn([Fault.http(500, "500")] * 7) as server:
        with pytest.raises(e.ServerError):
            make(server, sleeps, max_retries=6, backoff=(1.0, 4.0)).complete(USER)
    assert len(sleeps) == 6 and all(d <= 4.0 for d in sleeps) and sleeps[-1] >= 2.0


def test_a_url_httpx_cannot_send_to_fails_at_once_with_the_base_url_hint():
    waits: list[float] = []
    with GLMClient("ftp://127.0.0.1/api/paas/v4", api_key="test-key-123456", sleep=waits.append) as client:
        with pytest.raises(e.BadRequestError) as info:
            client.complete([{"role": "user", "content": "hi"}])
    assert waits == [] and "base URL" in info.value.hint
