"""Retry-After on 429 and 503, over real loopback HTTP: honoured, capped by the maximum wait and the time left.

Waits are read from the on_retry hook's reported delay (the client's sleep is a recorder), never from the clock.
"""
from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from glm_agent import GLMClient
from glm_agent.config.settings import Config
from glm_agent.glm import errors as e
from glm_agent.testing import Fault, Reply, StandIn

KEY = "sk-test-retry-after"
USER = [{"role": "user", "content": "hello"}]


def make(server: StandIn, seen: list, sleeps: list, **options) -> GLMClient:
    return GLMClient(server.base_url, api_key=KEY, sleep=sleeps.append,
                     on_retry=lambda exc, delay: seen.append((exc.code, delay)), **options)


def retried_once(fault: Fault, **options) -> tuple[list, list]:
    seen: list = []
    sleeps: list = []
    with StandIn([fault, Reply(content="ok")]) as server:
        assert make(server, seen, sleeps, **options).complete(USER).content == "ok"
        assert len(server.requests) == 2
    assert [delay for _, delay in seen] == sleeps
    return seen, sleeps


@pytest.mark.parametrize("status,code,kind", [(429, "1302", e.RateLimitError), (503, "503", e.ServerError)])
def test_retry_after_seconds_is_the_wait(status, code, kind):
    seen, _ = retried_once(Fault.http(status, code, retry_after="1"), backoff=(0.01, 5.0))
    assert seen == [(code, 1.0)]  # not the ~0.01 s backoff


def test_retry_after_is_capped_by_the_maximum_wait():
    seen, _ = retried_once(Fault.http(429, "1302", retry_after="1"), backoff=(0.01, 0.2))
    assert seen == [("1302", 0.2)]  # ~0.2, not 1


def test_retry_after_as_an_http_date():
    in_three = formatdate(time.time() + 3, usegmt=True)
    seen, _ = retried_once(Fault.http(429, "1305", retry_after=in_three), backoff=(0.01, 30.0))
    assert 1.5 <= seen[0][1] <= 3.0  # whole seconds on the wire
    seen, _ = retried_once(Fault.http(503, "503", retry_after=formatdate(time.time() - 60, usegmt=True)),
                           backoff=(5.0, 30.0))
    assert seen == [("503", 0.0)]  # a date already past: retry now


def test_an_unreadable_retry_after_falls_back_to_the_backoff():
    seen, _ = retried_once(Fault.http(429, "1302", retry_after="soon"), backoff=(0.4, 30.0))
    assert 0.2 <= seen[0][1] <= 0.4


def test_retry_after_does_not_make_a_non_retryable_error_retried():
    seen, sleeps = [], []
    with StandIn([Fault.http(429, "1113", retry_after="1"), Reply(content="never")]) as server:
        with pytest.raises(e.QuotaError):
            make(server, seen, sleeps).complete(USER)
        assert len(server.requests) == 1
    assert seen == sleeps == []


@pytest.mark.parametrize("fault,backoff", [
    (Fault.http(429, "1302", retry_after="5"), (0.01, 30.0)),  # the server's wait is longer than the time left
    (Fault.http(500, "500"), (20.0, 30.0)),  # so is the backoff
], ids=["retry-after", "backoff"])
def test_a_wait_past_the_deadline_raises_the_error_instead(fault, backoff):
    seen, sleeps = [], []
    with StandIn([fault, Reply(content="never")]) as server:
        client = make(server, seen, sleeps, backoff=backoff, deadline=time.monotonic() + 2.0)
        with pytest.raises(e.GLMError) as caught:
            client.complete(USER)
        assert len(server.requests) == 1
    assert caught.value.code == fault.code and caught.value.out_of_time and seen == sleeps == []


def test_a_wait_inside_the_deadline_is_taken():
    seen, _ = retried_once(Fault.http(429, "1302", retry_after="1"), backoff=(0.01, 30.0),
                           deadline=time.monotonic() + 60)
    assert seen == [("1302", 1.0)]


def test_the_runs_time_limit_is_the_clients_deadline(repo):
    """A run with limits.timeout: a Retry-After longer than the time left ends the run at once (not after a
    sleep until the wall-clock limit fires), as a timeout naming the error; the client's deadline is put back."""
    from glm_agent.jobs.run import Job, run_job

    with StandIn([Fault.http(429, "1302", retry_after="30"), Reply(content="never")]) as server:
        with GLMClient(server.base_url, KEY, backoff=(0.01, 60.0)) as client:
            started = time.monotonic()
            result = run_job(Job("Slow down", repo, Config(limits={"timeout": 5.0})), model=client)
            assert time.monotonic() - started < 5.0
            assert client.deadline is None
        assert len(server.requests) == 1
    assert (result.stop_reason, result.limit) == ("limit_reached", "timeout") and "1302" in result.error


def test_the_stand_in_sends_retry_after_from_a_script_file_item():
    import httpx

    item = {"fault": {"kind": "http", "status": 503, "code": "503", "retry_after": 2}}
    with StandIn([item]) as server:
        response = httpx.post(server.base_url + "/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                              json={"model": "glm-4.6", "messages": USER})
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
