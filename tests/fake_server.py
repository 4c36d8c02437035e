"""A real loopback HTTP server that speaks the OpenAI and Anthropic chat APIs.

Used by the backend tests and by benchmarks. In-process:

    with FakeServer(Behaviour(latency=0.05)) as server:
        model = load_model("openai:m", ModelOptions(base_urls=[server.openai_url]))
        ...
        assert server.count == 1

As a separate process (so that its CPU is not counted against the client):

    python -m tests.fake_server --port 8765 --latency 0.2

prints `fake server ready at http://127.0.0.1:8765` once it accepts requests and serves until
SIGINT/SIGTERM (then exits 0).

Endpoints: `POST /v1/chat/completions` (OpenAI), `POST /v1/messages` (Anthropic), `GET /health`.
`Behaviour` is read on every request, so a test may change it while the server runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import logging
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

Api = Literal["openai", "anthropic"]
FailKind = Literal[
    "429",  # rate limited, with Retry-After (and retry-after-ms) from Behaviour
    "500",
    "503",
    "529",  # Anthropic's "overloaded"
    "400",
    "401",
    "403",
    "404",
    "timeout",  # sleep `Behaviour.hang` seconds before answering, past the client's timeout
    "malformed",  # 200 with a body that is not JSON
    "empty",  # 200 with valid JSON but no answer (OpenAI: no choices; Anthropic: no content)
    "drop",  # the connection closes in the middle of the response
]
FAIL_KINDS: tuple[str, ...] = get_args(FailKind)


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    index: int  # arrival order, from 0
    api: Api
    path: str
    headers: dict[str, str]  # names lower-cased
    raw: bytes
    body: Any  # the parsed JSON, or None when the body was not JSON
    received_at: float = field(default_factory=time.monotonic)

    @property
    def model(self) -> str | None:
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return model if isinstance(model, str) else None


HookResult = Response | None
Hook = Callable[[RecordedRequest], HookResult | Awaitable[HookResult]]


def request_text(body: Any, *, role: str = "user") -> str:
    """The text of the last message with `role` in an OpenAI or Anthropic request body."""
    if not isinstance(body, dict):
        return ""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != role:
            continue
        return _content_text(message.get("content"))
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def all_text(body: Any) -> str:
    """Every piece of text in a request body (system prompt and all messages)."""
    if not isinstance(body, dict):
        return ""
    pieces: list[str] = []
    system = body.get("system")
    if isinstance(system, (str, list)):
        pieces.append(_content_text(system))
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            pieces.append(_content_text(message.get("content")))
    return " ".join(pieces)


def default_reply(body: Any) -> str:
    """A deterministic numbered answer built from the last user text."""
    words = request_text(body).split()[:15]
    if not words:
        return "1. No text was given."
    chunks = [words[i : i + 5] for i in range(0, len(words), 5)]
    return "\n".join(f"{n}. {' '.join(chunk)}." for n, chunk in enumerate(chunks, 1))


def count_words(text: str) -> int:
    return len(text.split())


@dataclass
class Behaviour:
    """What the server does; read on every request, so tests may change it at any time.

    Order per request: record it; pick a fault (the first `fail_first` requests get
    `fail_first_kind`, then each fails with probability `fail_rate` as `fail_kind`, drawn from a
    generator seeded with `seed`); sleep `latency` (or `hang` for "timeout"); call `hook`, whose
    non-None return is sent as the response; send the fault or the answer."""

    latency: float = 0.0
    reply: Callable[[Any], str] = default_reply
    model: str | None = None  # the model name reported; None echoes the request's
    models: frozenset[str] | None = None  # known models; others get a 404. None: any model
    finish_reason: str | None = None  # None: "stop" (OpenAI) / "end_turn" (Anthropic)
    fail_rate: float = 0.0
    fail_kind: FailKind = "500"
    fail_first: int = 0
    fail_first_kind: FailKind = "429"
    retry_after: str | None = "1"  # Retry-After header on 429s (seconds or an HTTP date)
    retry_after_ms: str | None = None  # retry-after-ms header on 429s
    hang: float = 30.0  # seconds a "timeout" fault sleeps (cut short when the server stops)
    hook: Hook | None = None
    seed: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for kind in (self.fail_kind, self.fail_first_kind):
            if kind not in FAIL_KINDS:
                raise ValueError(f"unknown fail kind {kind!r}; use one of {FAIL_KINDS}")
        self.reseed(self.seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)


_ERRORS: dict[str, tuple[int, str, str, str]] = {
    # kind: status, OpenAI error type, Anthropic error type, message
    "429": (429, "rate_limit_exceeded", "rate_limit_error", "Rate limit reached; slow down."),
    "500": (500, "server_error", "api_error", "The server had an error."),
    "503": (503, "server_error", "api_error", "The service is unavailable."),
    "529": (529, "server_error", "overloaded_error", "Overloaded."),
    "400": (400, "invalid_request_error", "invalid_request_error", "Bad request."),
    "401": (401, "invalid_api_key", "authentication_error", "Incorrect API key provided."),
    "403": (403, "permission_denied", "permission_error", "Forbidden."),
    "404": (404, "model_not_found", "not_found_error", "The model does not exist."),
}


_DROP_MESSAGE = "ASGI callable returned without completing response."


class _DroppedResponse(Response):
    """Starts a response, sends part of the body and stops: the server then closes the
    connection, which the client sees as a dropped connection."""

    def __init__(self) -> None:
        super().__init__(b"", media_type="application/json")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"id": "x', "more_body": True})


class _QuietDrops(logging.Filter):
    """Hides uvicorn's complaint about the responses cut short on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_MESSAGE


def error_response(
    api: Api, status: int, message: str, *, error_type: str = "error", headers: Any = None
) -> JSONResponse:
    """An error in the style of `api`."""
    if api == "openai":
        body: dict[str, Any] = {
            "error": {"message": message, "type": error_type, "param": None, "code": error_type}
        }
    else:
        body = {"type": "error", "error": {"type": error_type, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


class FakeServer:
    """The server, on a free loopback port unless `port` is given; a context manager."""

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.host = host
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        # proto=IPPROTO_TCP, else asyncio leaves Nagle on for accepted connections (+40 ms each).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/health", self._health, methods=["GET"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            backlog=4096,
            limit_concurrency=100_000,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)
        quiet = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _QuietDrops) for f in quiet.filters):
            quiet.addFilter(_QuietDrops())
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The root, e.g. http://127.0.0.1:PORT (Anthropic's base_url)."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_url(self) -> str:
        """OpenAI's base_url: the root plus /v1."""
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    # -- records -----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.requests]

    def reset(self) -> None:
        """Forget recorded requests and the in-flight maximum (`fail_first` counts anew)."""
        with self._lock:
            self.requests.clear()
            self.max_in_flight = self.in_flight

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> FakeServer:
        """Serve from a background thread; returns once requests are accepted."""
        if self._thread is not None:
            raise RuntimeError("the server was already started")
        self._thread = threading.Thread(
            target=self._thread_main, name=f"fake-server-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout) or not self._server.started:
            self.stop()
            raise RuntimeError(f"the fake server did not start: {self._failure!r}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve until SIGINT or SIGTERM (call from the main thread), then stop cleanly."""
        stop = threading.Event()

        def request_stop(signum: int, frame: object) -> None:
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.start()
            if on_ready is not None:
                on_ready()
            while not stop.wait(0.2):
                if self._thread is None or not self._thread.is_alive():
                    break
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        serving = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started and not serving.done():
            await asyncio.sleep(0.005)
        self._ready.set()
        # Cut injected sleeps short once shutdown begins.
        while not serving.done():
            if self._server.should_exit:
                self._stopping.set()
            await asyncio.sleep(0.05)
        await serving

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        stopping = self._stopping
        if stopping is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)

    # -- handlers ----------------------------------------------------------------------------

    async def _health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def _models(self, request: Request) -> Response:
        """The served models, when `Behaviour.models` names them; else a 404, as from servers
        that have no listing."""
        models = self.behaviour.models
        if models is None:
            return JSONResponse({"error": {"message": "Not Found"}}, status_code=404)
        return JSONResponse({"object": "list", "data": [{"id": m} for m in sorted(models)]})

    async def _openai(self, request: Request) -> Response:
        return await self._handle(request, "openai")

    async def _anthropic(self, request: Request) -> Response:
        return await self._handle(request, "anthropic")

    async def _handle(self, request: Request, api: Api) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        behaviour = self.behaviour
        with self._lock:
            record = RecordedRequest(
                index=len(self.requests),
                api=api,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                raw=raw,
                body=body,
            )
            self.requests.append(record)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            kind: str | None = None
            if record.index < behaviour.fail_first:
                kind = behaviour.fail_first_kind
            elif behaviour.fail_rate > 0 and behaviour.rng.random() < behaviour.fail_rate:
                kind = behaviour.fail_kind
        try:
            await self._sleep(behaviour.hang if kind == "timeout" else behaviour.latency)
            if behaviour.hook is not None:
                result = behaviour.hook(record)
                if inspect.isawaitable(result):
                    result = await result
                if result is not None:
                    return result
            if kind is not None and kind != "timeout":
                return self._fault(kind, api, record)
            return self._answer(api, record, behaviour)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _fault(self, kind: str, api: Api, record: RecordedRequest) -> Response:
        behaviour = self.behaviour
        if kind == "malformed":
            return Response(b'{"id": "x", "choices": [', media_type="application/json")
        if kind == "empty":
            if api == "openai":
                empty: dict[str, Any] = {
                    "id": f"chatcmpl-{record.index}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": record.model or "fake",
                    "choices": [],
                }
            else:
                empty = {"id": f"msg_{record.index}", "type": "message", "role": "assistant"}
            return JSONResponse(empty)
        if kind == "drop":
            return _DroppedResponse()
        status, openai_type, anthropic_type, message = _ERRORS[kind]
        headers: dict[str, str] = {}
        if kind == "429":
            if behaviour.retry_after is not None:
                headers["retry-after"] = behaviour.retry_after
            if behaviour.retry_after_ms is not None:
                headers["retry-after-ms"] = behaviour.retry_after_ms
        if kind == "404" and record.model:
            message = f"The model `{record.model}` does not exist or you do not have access to it."
        error_type = openai_type if api == "openai" else anthropic_type
        return error_response(api, status, message, error_type=error_type, headers=headers)

    def _answer(self, api: Api, record: RecordedRequest, behaviour: Behaviour) -> Response:
        body = record.body
        if not isinstance(body, dict):
            return error_response(api, 400, "The body is not a JSON object.")
        model = record.model
        if model is None:
            return error_response(api, 400, "'model' is required.")
        if behaviour.models is not None and model not in behaviour.models:
            return self._fault("404", api, record)
        text = behaviour.reply(body)
        prompt_tokens = count_words(all_text(body))
        completion_tokens = count_words(text)
        reported = behaviour.model or model
        if api == "openai":
            return JSONResponse(
                {
                    "id": f"chatcmpl-{record.index}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": reported,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": behaviour.finish_reason or "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                }
            )
        return JSONResponse(
            {
                "id": f"msg_{record.index}",
                "type": "message",
                "role": "assistant",
                "model": reported,
                "content": [{"type": "text", "text": text}],
                "stop_reason": behaviour.finish_reason or "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
            }
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_server",
        description="A loopback server speaking the OpenAI and Anthropic chat APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (see the ready line)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--fail-kind", choices=FAIL_KINDS, default="500")
    parser.add_argument("--retry-after", default="1", help="Retry-After on 429s")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    behaviour = Behaviour(
        latency=args.latency,
        fail_rate=args.fail_rate,
        fail_kind=args.fail_kind,
        retry_after=args.retry_after,
        seed=args.seed,
    )
    server = FakeServer(behaviour, host=args.host, port=args.port)

    def ready() -> None:
        print(f"fake server ready at {server.url}", flush=True)

    server.serve_forever(on_ready=ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
