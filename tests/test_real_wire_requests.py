"""Every recorded real request, sent again through GLMClient.complete: what GLM answered, the client must send.

tests/test_real_wire.py replays the recorded *responses* behind a fixed question. Here each fixture's own request
(its messages, tools and options) goes through `GLMClient.complete` to the stand-in on loopback, which must
receive a body equal in content to the recorded one and answer with the recorded response bytes; the client
must parse that answer (error fixtures: raise their typed error). A pre-flight rule of the client, or a
validation rule of the stand-in, that refuses a request the real service answered fails here.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from glm_agent import GLMClient
from glm_agent.testing import Raw, StandIn
from glm_agent.testing.validate import KNOWN_MODELS, check_body

from tests.test_real_wire import EXPECTED_ERROR, FILES, FIXTURES, naive_parse

# Fields the client takes as constructor options; everything else a recording sent goes through extra_body.
OPTIONS = ("temperature", "top_p", "stop", "max_tokens")
NOT_EXTRA = ("model", "messages", "tools", "stream", *OPTIONS)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# A request was recorded when the fixture holds its messages (issue-quoted errors mostly keep only the model).
REQUESTS = [p for p in FILES if "messages" in (_load(p).get("request") or {}).get("json", {})]


def with_documented_defaults(body: dict) -> dict:
    """The body with two fields at their documented default made explicit (glm-api.md section 2): `stream`
    (default false; the client leaves it out when false) and `tool_choice` (default and only documented
    value "auto"; the client sends it with every tool list)."""
    body = dict(body)
    body.setdefault("stream", False)
    if body.get("tools"):
        body.setdefault("tool_choice", "auto")
    return body


@pytest.fixture(scope="module")
def standins():
    """Two stand-ins replaying queued raw responses: one with its default model list (for requests the real
    Z.ai service answered), one accepting any model name (relays, and errors of models outside the list)."""
    queue: list[Raw] = []
    with StandIn(responder=lambda body: queue.pop(0)) as zai, \
            StandIn(responder=lambda body: queue.pop(0), models=None) as anything:
        yield queue, zai, anything


def replay_request(fixture: dict, standins) -> tuple[object, dict | None]:
    """Send the fixture's request through GLMClient.complete; returns (turn or raised error, body received)."""
    queue, zai, anything = standins
    request, response = fixture["request"]["json"], fixture["response"]
    direct_answer = fixture["route"] == "zai-direct" and response["status"] == 200
    server = zai if direct_answer else anything
    queue.append(Raw(response["body"].encode("utf-8"), chunks=response.get("transport_chunk_byte_lengths"),
                     status=response["status"],
                     content_type=(response.get("headers") or {}).get("content-type")))
    dialect = "openai" if fixture["route"] == "openrouter" else "zai"
    prefix = "/v1" if fixture["route"] != "zai-direct" else "/api/paas/v4"
    before = len(server.requests)
    options = {key: request.get(key) for key in OPTIONS}
    extra = {key: value for key, value in request.items() if key not in NOT_EXTRA}
    with GLMClient(server.url_for(prefix), api_key="replay-key", model=request["model"], dialect=dialect,
                   tool_stream=False, max_retries=0, extra_body=extra, **options) as client:
        try:
            outcome: object = client.complete(request["messages"], request.get("tools"),
                                              stream=bool(request.get("stream")))
        except Exception as exc:  # noqa: BLE001 - the caller checks which error
            outcome = exc
    queue.clear()  # not served if the request was refused: the next test gets its own answer
    return outcome, server.requests[before] if len(server.requests) > before else None


@pytest.mark.skipif(not REQUESTS, reason=f"real-wire fixtures not found at {FIXTURES} (shared folder absent)")
@pytest.mark.parametrize("path", REQUESTS, ids=[p.stem for p in REQUESTS])
def test_recorded_request_is_sent_as_recorded_and_its_answer_parsed(path: Path, standins):
    fixture = _load(path)
    request, response = fixture["request"]["json"], fixture["response"]
    outcome, received = replay_request(fixture, standins)
    assert received is not None, f"the client refused a request the real service answered: {outcome}"
    assert with_documented_defaults(received) == with_documented_defaults(request)
    if response["status"] != 200:
        body = json.loads(response["body"])
        code = str((body.get("error") or body)["code"])
        assert isinstance(outcome, EXPECTED_ERROR[code]), outcome
        assert outcome.code == code and outcome.status == response["status"]
        return
    assert not isinstance(outcome, Exception), f"{type(outcome).__name__}: {outcome}"
    expected = naive_parse(response)
    assert (outcome.content or "") == expected["content"]
    assert [(c.id, c.name, c.arguments) for c in outcome.tool_calls] == expected["calls"]
    assert outcome.finish_reason == expected["finish"]


@pytest.mark.skipif(not REQUESTS, reason=f"real-wire fixtures not found at {FIXTURES} (shared folder absent)")
def test_the_stand_in_accepts_every_request_the_real_service_answered():
    """The stand-in's validation (with its default model list for Z.ai direct) refuses none of them."""
    refused = {}
    for path in REQUESTS:
        fixture = _load(path)
        if fixture["response"]["status"] != 200:
            continue
        models = KNOWN_MODELS if fixture["route"] == "zai-direct" else None
        problem = check_body(fixture["request"]["json"], models)
        if problem:
            refused[path.stem] = problem
    assert refused == {}
