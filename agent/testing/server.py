"""The GLM stand-in: a loopback HTTP server that answers chat-completions requests like the real service.

It validates and records each request, picks the next script item (or asks the responder), computes usage
(prompt ~ chars/4, cached = longest common prefix with earlier prompts) and writes the reply as JSON or SSE,
with faults injected where the item says so.
"""
from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable
from urllib.parse import urlsplit

from glm_agent.testing import render
from glm_agent.testing.accounting import PromptLedger
from glm_agent.testing.script import Fault, Item, Raw, Reply, item_from_dict
from glm_agent.testing.validate import KNOWN_MODELS, check_auth, check_body

GENERAL, CODING, OPENAI = "/api/paas/v4", "/api/coding/paas/v4", "/v1"
PATHS = {prefix + "/chat/completions" for prefix in (GENERAL, CODING, OPENAI)}
# tool_stream fragment shapes (glm-api.md section 4, example B): id on every fragment, id only on the first,
# or id only on the first and the last fragment carried by a finish chunk.
FRAGMENT_STYLES = ("repeat_id", "first_id", "on_finish")


class StandIn:
    """Scripted or function-driven GLM stand-in on 127.0.0.1; `with StandIn([...]) as server:` starts it."""

    def __init__(self, script: Iterable[Item] | None = None, *, responder: Callable[[dict], Item] | None = None,
                 latency: float = 0.0, chunk_delay: float = 0.0, tool_stream: bool = True,
                 duplicate_finish: bool = True, fragment_style: str = "repeat_id", api_key: str | None = None,
                 models: Iterable[str] | None = KNOWN_MODELS, port: int = 0, context_window: int | None = None):
        """latency: seconds before each answer; chunk_delay: seconds between SSE chunks; tool_stream False:
        whole tool calls even when the request asks for fragments; duplicate_finish: finish_reason also on
        tool-call chunks; api_key: the only Bearer accepted (None: any); models: accepted names (None: any);
        context_window: tokens a prompt may have (its chars/4 estimate), beyond which it answers 400 / 1261."""
        if script is not None and responder is not None:
            raise ValueError("give a script or a responder, not both")
        if fragment_style not in FRAGMENT_STYLES:
            raise ValueError(f"fragment_style must be one of {FRAGMENT_STYLES}")
        self.fragment_style = fragment_style
        self.latency, self.chunk_delay = latency, chunk_delay
        self.tool_stream, self.duplicate_finish = tool_stream, duplicate_finish
        self.api_key = api_key
        self.models = None if models is None else frozenset(models)
        self.requests: list[dict] = []
        self.usages: list[dict] = []  # the usage sent with each reply (not with HTTP-error faults), in order
        self.paths: list[str] = []
        self.failures: list[str] = []
        self._script = [item_from_dict(i) if isinstance(i, dict) else i for i in script or []]
        self._responder = responder
        self.ledger = PromptLedger(context_window)
        self._lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None

    # lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> StandIn:
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        server.daemon_threads = True
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.stop()
        if self.failures and exc_type is None:
            raise AssertionError("GLM stand-in problems: " + "; ".join(self.failures))

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """Base URL of the general endpoint; give it to GLMClient(base_url=...)."""
        return self.url_for(GENERAL)

    def url_for(self, prefix: str = GENERAL) -> str:
        """Base URL for another path prefix: "/api/coding/paas/v4" (coding plan) or "/v1" (OpenAI dialect)."""
        return f"http://127.0.0.1:{self.port}{prefix}"

    @property
    def remaining(self) -> int:
        """Script items not served yet."""
        return len(self._script)

    # per request ---------------------------------------------------------------------------------------
    def _record(self, path: str, body: object) -> None:
        with self._lock:
            self.paths.append(path)
            self.requests.append(body if isinstance(body, dict) else {"_unparsed": body})

    def _fail(self, problem: str) -> str:
        with self._lock:
            self.failures.append(problem)
        print(f"glm stand-in: {problem}", file=sys.stderr, flush=True)
        return problem

    def _next(self, body: dict) -> Item | str:
        """The item to serve, or a problem description (script exhausted, responder crashed)."""
        if self._responder is not None:
            try:
                item = self._responder(body)
            except Exception as exc:  # the test's responder is broken: report it, keep serving
                return self._fail(f"responder raised {type(exc).__name__}: {exc}")
            item = item_from_dict(item) if isinstance(item, dict) else item
            if not isinstance(item, (Reply, Fault, Raw)):
                return self._fail(f"responder returned {item!r:.80}, not a Reply, Fault or Raw")
            return item
        with self._lock:
            if self._script:
                return self._script.pop(0)
            count = len(self.requests)
        return self._fail(f"script exhausted: request #{count} had no scripted reply")

    def _usage(self, body: dict, reply: Reply) -> dict:
        prompt_tokens, cached_tokens = self.ledger.cached(body)
        chars = len(reply.content) + len(reply.reasoning) + sum(len(a) for _, a in reply.argument_strings())
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": max(1, chars // 4),
                 "cached_tokens": cached_tokens}
        usage.update(reply.usage or {})
        prompt_tokens, completion = usage["prompt_tokens"], usage["completion_tokens"]
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                "total_tokens": usage.get("total_tokens", prompt_tokens + completion),
                "prompt_tokens_details": {"cached_tokens": min(usage["cached_tokens"], prompt_tokens)}}

    def serve(self, h: _Handler) -> None:
        path = urlsplit(h.path).path
        flavor = "openai" if path.startswith(OPENAI + "/") else "zai"
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if path not in PATHS:
            return _send(h, 404, "application/json", render.error_body(flavor, 404, "404", f"no route {path}"))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self._record(path, body)
        problem = check_auth(h.headers.get("Authorization"), self.api_key) or check_body(body, self.models)
        if problem is not None:
            return _send_error(h, flavor, *problem)
        refusal = self.ledger.refusal(body, flavor)
        if refusal is not None:  # refused before any generation: no script item is used
            return _send_error(h, flavor, *refusal)
        item = self._next(body)
        if self.latency:
            time.sleep(self.latency)
        if isinstance(item, str):
            return _send_error(h, flavor, 500, "500", f"GLM stand-in: {item}")
        if isinstance(item, Raw):
            return _send_raw(h, item)
        _Responder(self, h, flavor, body).answer(item)


class _Responder:
    """Writes one reply or fault for one request."""

    def __init__(self, standin: StandIn, h: _Handler, flavor: str, body: dict):
        self.standin, self.h, self.flavor, self.body = standin, h, flavor, body
        self.stream = bool(body.get("stream"))

    def answer(self, item: Reply | Fault) -> None:
        if isinstance(item, Fault) and item.kind == "http":
            headers = {"Retry-After": item.retry_after} if item.retry_after is not None else None
            return _send_error(self.h, self.flavor, item.status, item.code or str(item.status), item.error_message(),
                               headers)
        empty = isinstance(item, Fault) and item.kind == "empty_reply"
        reply = item if isinstance(item, Reply) else Reply(content="" if empty else "Partial answer that breaks "
                                                                                   "off here")
        usage = self.standin._usage(self.body, reply)
        if empty:
            usage = {**usage, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                     "prompt_tokens_details": {"cached_tokens": 0}}
        with self.standin._lock:
            self.standin.usages.append(usage)
        ctx = render.Context.new(
            self.flavor, str(self.body.get("model")), usage,
            tool_stream=self.standin.tool_stream and bool(self.body.get("tool_stream")),
            duplicate_finish=self.standin.duplicate_finish, fragment_style=self.standin.fragment_style,
            include_usage=bool((self.body.get("stream_options") or {}).get("include_usage")))
        fault = item if isinstance(item, Fault) and not empty else None
        if self.stream:
            self._stream(reply, ctx, fault)
        else:
            self._json(render.json_body(reply, ctx, null_content=empty), fault, ctx)

    def _json(self, data: bytes, fault: Fault | None, ctx: render.Context) -> None:
        kind = fault.kind if fault else None
        if kind == "inband_error":
            data = render.error_body("zai", 200, fault.code or "500", fault.error_message())
        elif kind == "malformed_frame":
            data = data[: len(data) // 2]
        if kind == "drop_mid_stream":
            _start(self.h, 200, "application/json; charset=UTF-8", ctx, length=len(data))
            self.h.wfile.write(data[: len(data) // 2])
            return _abort(self.h)
        _send(self.h, 200, "application/json; charset=UTF-8", data, ctx)

    def _stream(self, reply: Reply, ctx: render.Context, fault: Fault | None) -> None:
        frames = render.sse_frames(reply, ctx)
        if fault is not None:
            head = frames[: min(fault.after, len(frames) - 2)]
            if fault.kind == "inband_error":
                frames = head + [render.frame(render.dumps(
                    {"error": {"code": fault.code or "500", "message": fault.error_message()}}))]
            elif fault.kind == "malformed_frame":
                frames = head + [render.malformed_frame(ctx)] + frames[len(head):]
            else:
                frames = head
        _start(self.h, 200, "text/event-stream;charset=UTF-8", ctx)
        delay = self.standin.chunk_delay
        for piece in (frames if delay else [b"".join(frames)]):
            _write_chunk(self.h, piece)
            if delay:
                time.sleep(delay)
        if fault is not None and fault.kind == "drop_mid_stream":
            return _abort(self.h)
        _write_chunk(self.h, b"")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        try:
            self.server.standin.serve(self)  # type: ignore[attr-defined]
        except (BrokenPipeError, ConnectionResetError):  # the client hung up (timeout test, killed run)
            self.close_connection = True

    def do_GET(self) -> None:
        _send(self, 404, "application/json", render.error_body("zai", 404, "404", "use POST .../chat/completions"))

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        return


def _start(h: _Handler, status: int, content_type: str, ctx: render.Context | None = None,
           length: int | None = None, headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    if ctx is not None and ctx.flavor == "zai":
        h.send_header("x-log-id", ctx.request_id)
    if length is None:
        h.send_header("Transfer-Encoding", "chunked")
    else:
        h.send_header("Content-Length", str(length))
    h.end_headers()


def _send(h: _Handler, status: int, content_type: str, data: bytes, ctx: render.Context | None = None,
          headers: dict[str, str] | None = None) -> None:
    _start(h, status, content_type, ctx, length=len(data), headers=headers)
    h.wfile.write(data)


def _send_error(h: _Handler, flavor: str, status: int, code: str, message: str,
                headers: dict[str, str] | None = None) -> None:
    _send(h, status, "application/json; charset=UTF-8", render.error_body(flavor, status, code, message),
          headers=headers)


def _write_chunk(h: _Handler, data: bytes) -> None:
    h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


def _send_raw(h: _Handler, raw: Raw) -> None:
    _start(h, raw.status, raw.content_type or "application/json")
    for piece in raw.pieces():
        _write_chunk(h, piece)
        h.wfile.flush()
    _write_chunk(h, b"")


def _abort(h: _Handler) -> None:
    """Cut the connection without finishing the body, as a dying upstream does."""
    h.close_connection = True
    h.wfile.flush()
    h.connection.shutdown(socket.SHUT_RDWR)
