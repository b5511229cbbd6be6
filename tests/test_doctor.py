"""`glm-agent doctor` against the stand-in: each common misconfiguration gets its own diagnosis and exit code."""
from __future__ import annotations

import argparse
import io
import socket

import pytest
from glm_agent.cli.doctor import register
from glm_agent.jobs.doctor import run_doctor
from glm_agent.testing import Fault, Reply, StandIn

KEY = "zai-key-0123456789abcdef-WXYZ"


def doctor(**options) -> tuple[int, str]:
    out = io.StringIO()
    options.setdefault("api_key", KEY)
    code = run_doctor(out=out, **options)
    return code, out.getvalue()


def test_healthy_setup_passes_with_one_tiny_request():
    with StandIn([Reply(content="ok")]) as server:
        code, text = doctor(base_url=server.base_url)
        sent = server.requests
    assert code == 0 and "all good" in text
    assert len(sent) == 1 and sent[0]["max_tokens"] <= 16 and sent[0]["thinking"] == {"type": "disabled"}
    assert KEY not in text and "ends with ...WXYZ" in text and f"{len(KEY)} characters" in text


def test_a_proxy_in_the_environment_does_not_skip_the_network_check_of_a_local_server(monkeypatch):
    """The client never sends loopback through a proxy, so the doctor checks the connection itself."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    with StandIn([Reply(content="ok")]) as server:
        code, text = doctor(base_url=server.base_url)
    assert code == 0 and "ok   network" in text and "skip network" not in text


def test_short_key_shows_only_its_length():
    with StandIn([Reply(content="ok")]) as server:
        code, text = doctor(base_url=server.base_url, api_key="kQzWvY")  # no hex digits: request ids are hex
    assert code == 0 and "6 characters" in text and "kQz" not in text and "WvY" not in text


def test_bad_key():
    with StandIn([], api_key="the-right-key") as server:
        code, text = doctor(base_url=server.base_url)
    assert code == 3 and "bad key" in text and KEY not in text


def test_wrong_endpoint_for_the_key():
    with StandIn([Fault.http(429, "1113")]) as server:
        code, text = doctor(base_url=server.url_for("/api/coding/paas/v4"), endpoint="coding")
    assert code == 3 and "wrong endpoint for the key" in text


def test_unknown_model():
    with StandIn([]) as server:
        code, text = doctor(base_url=server.base_url, model="glm-4.6-typo")
    assert code == 3 and "unknown model 'glm-4.6-typo'" in text


def test_connection_refused_means_a_wrong_address():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, text = doctor(base_url=f"http://127.0.0.1:{port}/api/paas/v4", connect_timeout=2.0)
    assert code == 3 and "connection refused" in text and "wrong address" in text


def test_missing_key_is_a_config_problem():
    code, text = doctor(api_key=None)
    assert code == 2 and "ZAI_API_KEY is not set" in text


@pytest.mark.parametrize("options,fragment", [({"endpoint": "moon"}, "unknown endpoint"),
                                              ({"dialect": "grpc"}, "unknown dialect")])
def test_bad_config_values(options, fragment):
    code, text = doctor(**options)
    assert code == 2 and fragment in text


def test_openai_dialect_against_a_v1_server():
    with StandIn([Reply(content="ok")]) as server:
        code, text = doctor(base_url=server.url_for("/v1"), dialect="openai")
        assert server.requests[0]["chat_template_kwargs"] == {"enable_thinking": False}
    assert code == 0


def test_registered_subcommand_returns_the_exit_code(monkeypatch, capsys):
    parser = argparse.ArgumentParser(prog="glm-agent")
    register(parser.add_subparsers(dest="command"))
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    with StandIn([Fault.http(429, "1113")]) as server:
        args = parser.parse_args(["doctor", "--base-url", server.base_url, "--model", "glm-4.6"])
        assert args.handler(args) == 3
    assert "wrong endpoint" in capsys.readouterr().out
