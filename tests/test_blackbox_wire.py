"""`glm-agent run` as a black box against GLM wire quirks: exit code, stop reason, files on disk, what we sent.

Each test starts the real CLI in a subprocess against the stand-in on loopback (scripted replies, injected
faults, or handcrafted raw SSE bytes) and checks what a user would see, then audits every request we sent.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from glm_agent.testing import Fault, Raw, Reply, StandIn
from helpers import FAKE_KEY, NO_EVIDENCE_ARGS, call, finish

FAST = ("-c", "model.backoff=[0,0]")
WRITE = '{"path":"hello.txt","content":"hi\\n"}'
USAGE = {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132,
         "prompt_tokens_details": {"cached_tokens": 0}}


def run_cli(repo: Path, base_url: str | None, *extra: str, key: str | None = FAKE_KEY, timeout: float = 60):
    """(exit code, parsed --json result or None, stderr) of one `glm-agent run`."""
    env = {k: v for k, v in os.environ.items() if k != "ZAI_API_KEY"}
    if key is not None:
        env["ZAI_API_KEY"] = key
    args = [sys.executable, "-I", "-m", "glm_agent", "run", "Write hello.txt", "--repo", str(repo), "--json", *extra]
    if base_url:
        args += ["--base-url", base_url]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else None), proc.stderr


def chunk(delta: dict | None = None, finish_reason: str | None = None, usage: dict | None = None, **extra) -> str:
    choice: dict = {"index": 0, "delta": delta if delta is not None else {}}
    if finish_reason:
        choice["finish_reason"] = finish_reason
    body = {"id": "20251120101500a1b2c3d4e5f60718", "created": 1763604900, "model": "glm-4.6", "choices": [choice],
            **extra}
    if usage:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n"


def frag(index: int = 0, id: str | None = None, name: str | None = None, args: str | None = None) -> dict:
    function = {k: v for k, v in (("name", name), ("arguments", args)) if v is not None}
    call_ = {"index": index, "function": function, **({"id": id, "type": "function"} if id else {})}
    return {"tool_calls": [call_]}


def sse(*chunks: str) -> Raw:
    return Raw("".join(chunks) + "data: [DONE]\n\n")


def pieces(text: str, size: int = 7) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def audit(requests: list[dict], *, dialect: str = "zai", stream: bool = True) -> None:
    """What we send, request by request, must be what GLM (or a vLLM host) accepts and caches well."""
    previous: list[str] = []
    for body in requests:
        assert isinstance(body["max_tokens"], int) and body.get("tool_choice", "auto") == "auto"
        assert 0 <= body.get("temperature", 0) <= 1
        if dialect == "zai":
            assert "chat_template_kwargs" not in body
            assert body.get("tool_stream", False) == bool(stream and body.get("tools"))
        else:
            assert "thinking" not in body and "tool_stream" not in body
        messages = [json.dumps(m, sort_keys=True) for m in body["messages"]]
        assert messages[:len(previous)] == previous, "the history must only grow (prefix cache)"
        previous = messages
        _audit_messages(body["messages"])


def _audit_messages(messages: list[dict]) -> None:
    assert [m["role"] for m in messages[:2]] == ["system", "user"]
    pending: list[str] = []
    for i, message in enumerate(messages):
        if message["role"] == "tool":
            assert pending and message["tool_call_id"] == pending.pop(0), "one tool message per call, in order"
            continue
        assert not pending, f"message {i} arrived before every tool call was answered"
        if message["role"] == "assistant":
            assert isinstance(message["content"], str)
            for tool_call in message.get("tool_calls", []):
                assert isinstance(json.loads(tool_call["function"]["arguments"]), dict)
                pending.append(tool_call["id"])
        elif message["role"] == "user" and i > 1:
            assert messages[i - 1]["role"] == "assistant" and not messages[i - 1].get("tool_calls"), \
                "a user message only after an answer without tool calls (the nudge)"
    assert not pending


def assistant(request: dict, n: int = 0) -> dict:
    return [m for m in request["messages"] if m["role"] == "assistant"][n]


# --- tool calls in every shape the wire delivers them -------------------------------------------------

def shapes(w: str) -> dict[str, Raw]:
    """Every way a stream was seen (or documented) to deliver one write_file call with arguments `w`."""
    cid = "call_9f1c0d2e3b4a5968778695a4"
    end = chunk({"role": "assistant", "content": ""}, "tool_calls", USAGE)
    return {
        "id_only_on_first_args_empty_first": sse(
            chunk({"role": "assistant", "content": "\n"}), chunk(frag(id=cid, name="write_file", args="")),
            *(chunk(frag(args=p)) for p in pieces(w)), end),
        "id_repeated_on_every_fragment": sse(
            chunk(frag(id=cid, name="write_file", args=w[:5])), *(chunk(frag(id=cid, args=p)) for p in pieces(w[5:])),
            end),
        "last_fragment_on_the_finish_chunk": sse(
            chunk(frag(id=cid, name="write_file", args=w[:-3])),
            chunk({"role": "assistant", "content": "", **frag(args=w[-3:])}, "tool_calls", USAGE)),
        "duplicated_finish_reason": sse(
            chunk(frag(id=cid, name="write_file", args=w), "tool_calls"), chunk({}, "tool_calls"), end),
        "index_minus_one": sse(
            chunk(frag(-1, id=cid, name="write_file", args="")), *(chunk(frag(-1, args=p)) for p in pieces(w)), end),
        "object_and_unknown_fields": sse(
            chunk({"role": "assistant", "reasoning_content": "\nWrite it.", "extra_field": 1},
                  object="chat.completion.chunk", system_fingerprint="fp", request_id="r1"),
            chunk(frag(id="call_-8167732570302206983", name="write_file", args=w), object="chat.completion.chunk"),
            chunk({"role": "assistant", "content": ""}, "tool_calls", {**USAGE, "completion_tokens_details": {}},
                  object="chat.completion.chunk", web_search=[])),
        "crlf_comments_event_lines_no_space": Raw(": keep-alive\r\n\r\n" + "".join(
            "event: message\r\n" + c.replace("data: ", "data:").replace("\n\n", "\r\n\r\n")
            for c in (chunk(frag(id=cid, name="write_file", args=w[:9])), chunk(frag(args=w[9:])), end))
            + "data:[DONE]\r\n\r\n", chunks=[5, 30, 1, 200], content_type="text/event-stream"),
        "sse_served_as_text_plain": Raw(sse(chunk(frag(id="call_1", name="write_file", args=w)), end).body,
                                        content_type="text/plain"),
    }


def write_args(path: str) -> str:
    return json.dumps({"path": path, "content": "hi\n"}, separators=(",", ":"))


def test_tool_call_fragments_in_every_shape_write_their_files(repo):
    names = list(shapes(WRITE))
    script = [shapes(write_args(f"{name}.txt"))[name] for name in names]
    with StandIn([*script, finish("wrote them")], api_key=FAKE_KEY) as server:
        code, result, err = run_cli(repo, server.base_url)
        requests = server.requests
    assert (code, result["stop_reason"]) == (0, "finished"), err
    missing = [name for name in names if not (repo / f"{name}.txt").is_file()]
    assert not missing, f"shapes whose call did not run: {missing}"
    assert all((repo / f"{name}.txt").read_text() == "hi\n" for name in names)
    for step, name in enumerate(names, start=1):
        (replayed,) = assistant(requests[step], step - 1)["tool_calls"]
        assert (replayed["function"]["name"], replayed["function"]["arguments"]) == (
            "write_file", write_args(f"{name}.txt")) and replayed["id"].startswith("call_")
    audit(requests)


@pytest.mark.parametrize("style,thinking", [("first_id", "--no-thinking"), ("on_finish", "--thinking")])
def test_standin_fragment_styles_and_parallel_calls(repo, style, thinking):
    both = Reply(content="\n", reasoning="Two files.", tool_calls=[
        ("write_file", {"path": "a.txt", "content": "A\n"}), ("write_file", {"path": "b.txt", "content": "B\n"})])
    with StandIn([both, finish()], fragment_style=style, api_key=FAKE_KEY) as server:
        code, result, err = run_cli(repo, server.base_url, *([thinking] if thinking else []))
        requests = server.requests
    assert code == 0, err
    assert ((repo / "a.txt").read_text(), (repo / "b.txt").read_text()) == ("A\n", "B\n")
    assert assistant(requests[1])["reasoning_content"] == "Two files."
    expected = {"--thinking": {"type": "enabled"}, "--no-thinking": {"type": "disabled"}}.get(thinking)
    assert all(r.get("thinking") == expected for r in requests)
    audit(requests)


def test_system_prompt_and_tools_are_identical_across_two_runs(repo, tmp_path):
    from helpers import git_init

    firsts = []
    for path in (repo, git_init(tmp_path / "other")):
        with StandIn([finish()], api_key=FAKE_KEY) as server:
            assert run_cli(path, server.base_url, *NO_EVIDENCE_ARGS)[0] == 0
            firsts.append(server.requests[0])
    assert json.dumps(firsts[0]["messages"][0]) == json.dumps(firsts[1]["messages"][0])
    assert json.dumps(firsts[0]["tools"]) == json.dumps(firsts[1]["tools"])


def test_whole_parallel_calls_without_streaming_and_negative_ids(repo):
    both = Reply(tool_calls=[("write_file", {"path": "a.txt", "content": "A\n"}),
                             ("write_file", {"path": "b.txt", "content": "B\n"})])
    with StandIn([both, finish()], api_key=FAKE_KEY) as server:
        code, result, err = run_cli(repo, server.base_url, "--no-stream")
        requests = server.requests
    assert code == 0, err
    assert sorted(p.name for p in repo.glob("?.txt")) == ["a.txt", "b.txt"]
    ids = [c["id"] for c in assistant(requests[1])["tool_calls"]]
    assert all(i.startswith("call_-") for i in ids) and len(set(ids)) == 2
    assert "stream" not in requests[0] and "tool_stream" not in requests[0]
    audit(requests, stream=False)


@pytest.mark.parametrize("path,code", [("/api/paas/v4/chat/completions/", 0), ("/api/v4", 3)])
def test_base_url_pasted_in_full_works_and_a_wrong_path_says_so(repo, path, code):
    with StandIn([call("write_file", path="hello.txt", content="hi\n"), finish()], api_key=FAKE_KEY) as server:
        got, result, err = run_cli(repo, server.url_for(path))
    assert got == code, err
    assert code == 0 or "ends before /chat/completions" in err


def test_a_real_recorded_glm_stream_drives_a_step(repo):
    """Byte-exact GLM-4.6 traffic (a `weather` call our toolset does not have): the model gets an error result."""
    from helpers import SHARED, need

    fixture = SHARED / "fixtures/real-wire/hf-glm46_fantasy_tool_stream_turn1_20251023.json"
    need(fixture.is_file(), f"the real-wire recording {fixture}")
    body = json.loads(fixture.read_text())["response"]["body"]
    with StandIn([Raw(body, chunks=[37, 400, 3]), finish()], api_key=FAKE_KEY) as server:
        code, result, err = run_cli(repo, server.base_url, *NO_EVIDENCE_ARGS)
        requests = server.requests
    assert code == 0, err
    tool_call = assistant(requests[1])["tool_calls"][0]
    assert tool_call["function"]["name"] == "weather" and json.loads(tool_call["function"]["arguments"])
    assert requests[1]["messages"][-1]["tool_call_id"] == tool_call["id"]
    audit(requests)


# --- answers that are not quite answers, and failures retried as a whole ---------------------------------

LEAK = ("\nI'll write it.\n<tool_call>write_file\n<arg_key>path</arg_key>\n<arg_value>leak.txt</arg_value>\n"
        "<arg_key>content</arg_key>\n<arg_value>hi\n</arg_value>\n</tool_call>")
LEAK_TYPED = ("<tool_call>bash<arg_key>command</arg_key><arg_value>printf 'hi\\n' > typed.txt</arg_value>"
              "<arg_key>timeout</arg_key><arg_value>30</arg_value></tool_call>")


def test_a_conversation_of_quirky_answers_runs_to_the_finish(repo):
    script = [
        sse(chunk({"role": "assistant", "content": "", "reasoning_content": "\nThinking it over."}),
            chunk({"role": "assistant", "content": ""}, "stop")),               # 1 reasoning only, no usage: nudge
        Reply(content=LEAK, finish_reason="stop"),                               # 2 GLM XML leaked in content: run
        Reply(reasoning="Let me think " * 40, finish_reason="length"),          # 3 cut off while thinking: nudge
        Reply(content=LEAK_TYPED),                                               # 4 leaked call, typed values
        Reply(tool_calls=[("write_file", '{"path": "cut.txt", "content": "hi')], finish_reason="length"),  # 5
        Reply(tool_calls=[("write_file", {"path": "odd.txt", "content": "hi\n"})], finish_reason="abort_soon"),
        finish(),
    ]
    with StandIn(script, api_key=FAKE_KEY) as server:
        code, result, err = run_cli(repo, server.base_url)
        requests = server.requests
    assert (code, result["steps"]) == (0, 7), err
    last = [r["messages"][-1] for r in requests]
    assert assistant(requests[1], 0)["reasoning_content"] == "\nThinking it over."
    assert last[1]["role"] == "user" and "without calling a tool" in last[1]["content"]
    leaked = assistant(requests[2], 1)
    assert "<tool_call>" not in leaked["content"] and json.loads(leaked["tool_calls"][0]["function"]["arguments"]) == \
        {"path": "leak.txt", "content": "hi\n"}
    assert last[3]["role"] == "user" and "cut off at the output limit" in last[3]["content"]
    typed = json.loads(assistant(requests[4], 3)["tool_calls"][0]["function"]["arguments"])
    assert typed == {"command": "printf 'hi\\n' > typed.txt", "timeout": 30}
    assert "not valid JSON" in last[5]["content"] and "cut off at the output limit" in last[5]["content"]
    assert assistant(requests[5], 4)["tool_calls"][0]["function"]["arguments"] == "{}"
    assert [(repo / f).read_text() for f in ("leak.txt", "typed.txt", "odd.txt")] == ["hi\n"] * 3
    assert not (repo / "cut.txt").exists()
    audit(requests)


@pytest.mark.parametrize("mode", ["--stream", "--no-stream"])
def test_transient_failures_are_retried_as_a_whole(repo, mode):
    faults = [Fault.http(429, "1302"), Fault.http(429, "1305"), Fault.http(500, "500"), Fault.drop_mid_stream(),
              Fault.inband_error("1302"), Fault.malformed_frame(), Raw("data: [DONE]\n\n")]
    script = [item for i, fault in enumerate(faults)
              for item in (fault, call("write_file", path=f"{i}.txt", content="hi"))]
    with StandIn([*script, finish()], api_key=FAKE_KEY) as server:
        code, result, err = run_cli(repo, server.base_url, mode, *FAST)
        requests = server.requests
    assert (code, result["steps"], len(requests)) == (0, 8, 15), err
    assert all(requests[2 * i] == requests[2 * i + 1] for i in range(len(faults))), "a retry resends the same body"
    assert sorted(p.name for p in repo.glob("?.txt")) == [f"{i}.txt" for i in range(len(faults))]
    assert err.count("retry 1/3") == len(faults)
    events = [json.loads(line) for line in (Path(result["run_dir"]) / "trajectory.jsonl").read_text().splitlines()]
    assert [e["delay_s"] for e in events if e["type"] == "retry"] == [0] * len(faults)
    audit([requests[2 * i + 1] for i in range(len(faults))] + [requests[-1]], stream=mode == "--stream")


@pytest.mark.parametrize("item,code,reason,needle", [
    (Fault.http(429, "1113"), 3, "api_error", "endpoint"),
    (Fault.http(401, "1002"), 3, "api_error", "ZAI_API_KEY"),
    (Fault.inband_error("1113"), 3, "api_error", "endpoint"),
    (Fault.empty_reply(), 3, "api_error", "zero usage"),
    (Reply(content="blocked", finish_reason="sensitive"), 3, "api_error", "content filter"),
    (Fault.http(400, "1261"), 1, "context_exhausted", "1261"),
    (Reply(finish_reason="model_context_window_exceeded", usage={"prompt_tokens": 0, "completion_tokens": 0}), 1,
     "context_exhausted", "context window"),
], ids=["1113", "401", "inband-1113", "empty", "sensitive", "1261", "window-exceeded"])
def test_errors_that_retrying_cannot_fix_end_the_run_at_once(repo, item, code, reason, needle):
    (repo / "README.md").write_text("hello\nmy unsaved edit\n")
    with StandIn([item], api_key=FAKE_KEY) as server:
        got, result, err = run_cli(repo, server.base_url, *FAST)
        sent = len(server.requests)
    assert (got, result["stop_reason"], sent) == (code, reason, 1), err
    assert needle in result["error"] and needle in err
    assert json.loads((Path(result["run_dir"]) / "result.json").read_text()) == result
    assert (repo / "README.md").read_text() == "hello\nmy unsaved edit\n"


# --- the OpenAI dialect (vLLM, SGLang, relays) --------------------------------------------------------

def openai_error(status: int, message: str, type_: str, code) -> Raw:
    return Raw(json.dumps({"error": {"message": message, "type": type_, "code": code}}), status=status)


def test_openai_dialect_on_v1_with_reasoning_and_standard_errors(repo):
    script = [openai_error(429, "Rate limit reached", "rate_limit_error", "rate_limit_exceeded"),
              Reply(reasoning="Write it.", tool_calls=[("write_file", json.loads(WRITE))]), finish()]
    with StandIn(script, api_key=FAKE_KEY) as server:
        code, result, err = run_cli(repo, server.url_for("/v1"), "--dialect", "openai", "--no-thinking", *FAST,
                                    "-c", "model.temperature=0.6")
        requests = server.requests
    assert (code, result["steps"], len(requests)) == (0, 2, 3), err
    assert (repo / "hello.txt").read_text() == "hi\n"
    assert assistant(requests[2])["reasoning_content"] == "Write it."
    assert all(r["chat_template_kwargs"] == {"enable_thinking": False} and r["temperature"] == 0.6 for r in requests)
    audit(requests, dialect="openai")


@pytest.mark.parametrize("raw,code,reason", [
    (openai_error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"), 3, "api_error"),
    (openai_error(400, "This model's maximum context length is 131072 tokens. However, you requested 140000 "
                       "tokens.", "BadRequestError", 400), 1, "context_exhausted"),
], ids=["401", "context-length"])
def test_openai_dialect_errors_end_the_run(repo, raw, code, reason):
    with StandIn([raw], api_key=FAKE_KEY) as server:
        got, result, err = run_cli(repo, server.url_for("/v1"), "--dialect", "openai", *FAST)
        sent = len(server.requests)
    assert (got, result["stop_reason"], sent) == (code, reason, 1), err
    assert result["error"] in err


# --- interrupted runs -------------------------------------------------------------------------------

def start_cli(repo: Path, base_url: str, *extra: str) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if k != "ZAI_API_KEY"}, "ZAI_API_KEY": FAKE_KEY}
    return subprocess.Popen([sys.executable, "-I", "-m", "glm_agent", "run", "Write hello.txt", "--repo", str(repo),
                             "--json", "--base-url", base_url, *extra], env=env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_until(predicate, timeout: float = 30, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(interval)


def recorded(repo: Path, needle: str) -> bool:
    return any(needle in p.read_text() for p in repo.glob(".glm-agent/runs/*/trajectory.jsonl"))


MARKER = f"glm-agent-blackbox-{os.getpid()}"
LONG = Reply(content="word " * 300)
BACKOFF = ("-c", "model.backoff=[60,60]")
INTERRUPTS = {  # signal, stand-in options, script after a first write, trajectory text that says "now", flags
    "sigint-while-streaming": (signal.SIGINT, {"chunk_delay": 0.1}, [LONG], '"step": 2', ()),
    "sighup-while-streaming": (signal.SIGHUP, {"chunk_delay": 0.1}, [LONG], '"step": 2', ()),
    "sigterm-in-a-command": (signal.SIGTERM, {}, [call("bash", command=f"sleep 60; echo {MARKER} > late.txt")],
                             '"name": "bash"', ()),
    "sigint-in-retry-backoff": (signal.SIGINT, {}, [Fault.http(429, "1302")], '"type": "retry"', BACKOFF),
    "sigterm-in-retry-backoff": (signal.SIGTERM, {}, [Fault.http(429, "1305")], '"type": "retry"', BACKOFF),
}


@pytest.mark.slow
@pytest.mark.parametrize("sig,options,script,now,extra", INTERRUPTS.values(), ids=INTERRUPTS.keys())
def test_interrupted_run_exits_130_with_a_complete_record_and_the_users_work(repo, sig, options, script, now,
                                                                             extra):
    (repo / "README.md").write_text("hello\nmy unsaved edit\n")
    (repo / "notes.txt").write_text("untracked notes\n")
    with StandIn([call("write_file", path="hello.txt", content="hi\n"), *script], api_key=FAKE_KEY,
                 **options) as server:
        proc = start_cli(repo, server.base_url, *extra)
        wait_until(lambda: recorded(repo, now))
        time.sleep(0.3)
        started = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.monotonic() - started < 10, err
    result = json.loads(out)
    assert result["stop_reason"] == "interrupted"
    run_dir = Path(result["run_dir"])
    assert json.loads((run_dir / "result.json").read_text())["stop_reason"] == "interrupted"
    last = json.loads((run_dir / "trajectory.jsonl").read_text().splitlines()[-1])
    assert (last["type"], last["stop_reason"]) == ("stop", "interrupted")
    assert (repo / "README.md").read_text() == "hello\nmy unsaved edit\n"
    assert (repo / "notes.txt").read_text() == "untracked notes\n"
    assert (repo / "hello.txt").read_text() == "hi\n"
    stray = {p.name for p in repo.iterdir()} - {".git", ".glm-agent", "README.md", "notes.txt", "hello.txt"}
    assert not stray, f"partial or stray files: {stray}"
    assert MARKER not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_a_stop_signal_during_start_up_still_ends_with_a_record(repo):
    with StandIn([finish()], latency=5, api_key=FAKE_KEY) as server:
        proc = start_cli(repo, server.base_url)
        wait_until(lambda: list(repo.glob(".glm-agent/runs/*/trajectory.jsonl")), interval=0.002)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    result = json.loads(out)
    assert (result["stop_reason"], result["steps"]) == ("interrupted", 0)
    run_dir = Path(result["run_dir"])
    assert json.loads((run_dir / "result.json").read_text())["stop_reason"] == "interrupted"
    assert json.loads((run_dir / "trajectory.jsonl").read_text().splitlines()[-1])["type"] == "stop"


# --- no key, wrong address, a server that never answers; the doctor on each ----------------------------

@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_url():
    """A server whose kernel accepts connections that nothing ever reads or answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/paas/v4"


@pytest.mark.parametrize("key", [None, "", "clé secrète"], ids=["unset", "empty", "not-header-safe"])
def test_no_usable_key_stops_before_touching_the_repo(repo, key, closed_port):
    """Unset: the default Z.ai endpoint, never reached; the other cases point at a closed loopback port."""
    code, result, err = run_cli(repo, None if key is None else f"http://127.0.0.1:{closed_port}/v4", key=key)
    assert (code, result) == (3, None) and "ZAI_API_KEY" in err and "Traceback" not in err
    assert not key or key not in err
    assert subprocess.run(["git", "branch", "--list"], cwd=repo, capture_output=True, text=True).stdout.strip() == \
        "* main"
    assert not (repo / ".glm-agent").exists()


def test_a_key_pasted_with_a_newline_still_works_and_loopback_bypasses_proxies(repo, closed_port, monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{closed_port}")
    with StandIn([finish()], api_key=FAKE_KEY) as server:
        code, result, err = run_cli(repo, server.base_url, *NO_EVIDENCE_ARGS, key=f" {FAKE_KEY}\n")
    assert code == 0, err


def test_a_base_url_without_a_scheme_is_a_usage_error_before_anything_changes(repo):
    code, result, err = run_cli(repo, "localhost:8000/v1")
    assert (code, result) == (2, None) and "model.base_url" in err and "Traceback" not in err
    assert not (repo / ".glm-agent").exists()


def test_connection_refused_is_an_api_error_after_bounded_retries(repo, closed_port):
    url = f"http://127.0.0.1:{closed_port}/api/paas/v4"
    code, result, err = run_cli(repo, url, *FAST, "-c", "model.max_retries=2", timeout=30)
    assert (code, result["stop_reason"], result["steps"]) == (3, "api_error", 0)
    assert "cannot connect" in result["error"] and "base URL" in err and err.count("retry") == 2


@pytest.mark.slow
def test_a_server_that_never_answers_hits_the_request_timeout(repo, silent_url):
    started = time.monotonic()
    code, result, err = run_cli(repo, silent_url, *FAST, "-c", "model.timeout=1", "-c", "model.max_retries=1",
                                timeout=30)
    assert (code, result["stop_reason"]) == (3, "api_error") and time.monotonic() - started < 15
    assert "timed out" in result["error"] and "did not answer" in err


def doctor(repo: Path, *args: str, key: str | None = FAKE_KEY) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "ZAI_API_KEY"}
    if key:
        env["ZAI_API_KEY"] = key
    proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "doctor", "--repo", str(repo), *args], env=env,
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("item,code,needle", [
    (Reply(content="ok"), 0, "all good"),
    (Fault.http(429, "1113"), 3, "wrong endpoint for the key"),
    (Fault.http(401, "1002"), 3, "bad key"),
    (Fault.http(429, "1305"), 3, "busy"),
], ids=["healthy", "1113", "401", "1305"])
def test_doctor_reads_the_config_and_names_the_problem(repo, item, code, needle):
    from glm_agent.config.loading import user_config_path

    with StandIn([item], api_key=FAKE_KEY) as server:
        user_config_path().parent.mkdir(parents=True, exist_ok=True)
        user_config_path().write_text(f'[model]\nbase_url = "{server.base_url}"\n')
        (repo / ".glm-agent.toml").write_text('[model]\nmax_tokens = 64\n')
        got, text = doctor(repo)
        sent = len(server.requests)
    assert (got, sent) == (code, 1) and needle in text and FAKE_KEY not in text


@pytest.mark.slow
def test_doctor_without_a_key_wrong_address_and_silent_server(repo, closed_port, silent_url):
    assert doctor(repo, key=None)[0] == 2
    code, text = doctor(repo, "--base-url", f"http://127.0.0.1:{closed_port}/v1", "--dialect", "openai")
    assert code == 3 and "wrong address" in text
    code, text = doctor(repo, "--base-url", silent_url, "--timeout", "1")
    assert code == 3 and "timed out" in text and "no answer" in text
    code, text = doctor(repo, "-c", "model.dialect=grpc")
    assert code == 2 and "FAIL config" in text


def test_human_output_shows_retries_and_never_passes_control_sequences_to_the_terminal(repo):
    script = [Fault.drop_mid_stream(), Reply(content="Look: \x1b[2J\x1b]0;pwned\x07 done\r", tool_calls=[
        ("bash", {"command": "printf 'out \\033[31mred\\033[0m\\r\\n'"})]), finish("bye \x1b[5m")]
    with StandIn(script, api_key=FAKE_KEY) as server:
        env = {**os.environ, "ZAI_API_KEY": FAKE_KEY}
        proc = subprocess.run([sys.executable, "-I", "-m", "glm_agent", "run", "Show", "--repo", str(repo), "--base-url",
                               server.base_url, *FAST], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\r" not in proc.stdout and "\x07" not in proc.stdout
    assert "Look: ␛[2J" in proc.stdout and "summary: bye ␛[5m" in proc.stdout
    assert "\n(retrying in 0s: " in proc.stdout and "GLM request failed" not in proc.stderr
