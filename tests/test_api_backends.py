"""`openai:` and `anthropic:` backends over real HTTP against the loopback FakeServer."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from eibench.errors import EIBenchError
from eibench.models.base import (
    ChatModel,
    ChatRequest,
    ChatResponse,
    GenerationParams,
    ImagePart,
    Message,
    ModelCallError,
    TextPart,
)
from eibench.models.openai_compat import create_kwargs
from eibench.models.registry import ModelOptions, load_model
from eibench.models.sdk import ReplicaPool, parse_retry_after
from eibench.models.secrets import api_key, redact
from tests.fake_server import (
    Behaviour,
    FakeServer,
    RecordedRequest,
    all_text,
    count_words,
    default_reply,
    error_response,
)

REPO = Path(__file__).resolve().parent.parent
APIS = ["openai", "anthropic"]
MODEL = "fake-model"
OPENAI_SECRET = "sk-eibench-test-OPENAI-0123456789abcdef"
ANTHROPIC_SECRET = "sk-ant-eibench-test-ANTHROPIC-0123456789"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"
JPEG = b"\xff\xd8\xff\xe0 fake jpeg bytes"
SCHEMA = {"type": "object", "properties": {"triggers": {"type": "array"}}}

TEXT_REQUEST = ChatRequest(
    messages=[Message.text("user", "Why does the person in the picture feel happy today?")]
)


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real key, base URL or config file reaches these tests."""
    for var in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "OPENAI_ADMIN_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "OPENAI_CUSTOM_HEADERS",
        "ANTHROPIC_CUSTOM_HEADERS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("EIBENCH_CONFIG", str(tmp_path / "absent-config.toml"))


@pytest.fixture(scope="module")
def _shared_server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def server(_shared_server: FakeServer) -> FakeServer:
    """The module's server with default behaviour and no recorded requests."""
    _shared_server.behaviour = Behaviour()
    _shared_server.reset()
    return _shared_server


def sent_key(record: RecordedRequest) -> str | None:
    """The API key a request carried: `x-api-key` (older Anthropic SDKs) or a bearer token."""
    if "x-api-key" in record.headers:
        return record.headers["x-api-key"]
    auth = record.headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


def base_url(server: FakeServer, api: str) -> str:
    return server.openai_url if api == "openai" else server.anthropic_url


def make(api: str, urls: list[str], *, timeout: float = 5.0, name: str = MODEL) -> ChatModel:
    return load_model(f"{api}:{name}", ModelOptions(base_urls=urls, timeout=timeout))


async def _chat_and_close(model: ChatModel, request: ChatRequest) -> ChatResponse:
    try:
        return await model.chat(request)
    finally:
        await model.aclose()


def chat(
    api: str,
    server: FakeServer,
    request: ChatRequest = TEXT_REQUEST,
    *,
    timeout: float = 5.0,
    name: str = MODEL,
) -> ChatResponse:
    model = make(api, [base_url(server, api)], timeout=timeout, name=name)
    return asyncio.run(_chat_and_close(model, request))


def failure(api: str, server: FakeServer, **kwargs: Any) -> ModelCallError:
    with pytest.raises(ModelCallError) as info:
        chat(api, server, **kwargs)
    error = info.value
    assert "\n" not in str(error)
    return error


def image_request(media_type: str, data: bytes, *, params: GenerationParams) -> ChatRequest:
    return ChatRequest(
        messages=[
            Message.text("system", "You interpret emotions."),
            Message(
                role="user",
                content=[
                    TextPart(text="What made her feel this way?"),
                    ImagePart(media_type=media_type, data=data),
                ],
            ),
        ],
        params=params,
    )


# --- request and response shapes -------------------------------------------------------------


def test_openai_text_and_image_request_shape(server: FakeServer) -> None:
    params = GenerationParams(temperature=0.3, max_tokens=77, top_p=0.9, seed=7, json_schema=SCHEMA)
    response = chat("openai", server, image_request("image/png", PNG, params=params))

    assert server.count == 1
    record = server.requests[0]
    assert record.path == "/v1/chat/completions"
    body = record.body
    assert body["model"] == MODEL
    assert body["messages"][0] == {"role": "system", "content": "You interpret emotions."}
    user = body["messages"][1]
    assert user["role"] == "user"
    assert user["content"][0] == {"type": "text", "text": "What made her feel this way?"}
    image = ImagePart(media_type="image/png", data=PNG)
    assert user["content"][1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{image.b64()}"},
    }
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 77
    assert "max_completion_tokens" not in body
    assert body["top_p"] == 0.9
    assert body["seed"] == 7
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
    }
    # No key configured and not the official endpoint: a placeholder key.
    assert record.headers["authorization"] == "Bearer EMPTY"

    assert response.text == default_reply(body)
    assert response.usage.input_tokens == count_words(all_text(body)) > 0
    assert response.usage.output_tokens == count_words(response.text) > 0
    assert response.finish_reason == "stop"
    assert response.model == MODEL


def test_openai_defaults_leave_optional_params_out(server: FakeServer) -> None:
    server.behaviour.model = "served-name"
    server.behaviour.finish_reason = "length"
    response = chat("openai", server)
    body = server.requests[0].body
    assert body["messages"] == [{"role": "user", "content": TEXT_REQUEST.messages[0].plain_text()}]
    assert body["temperature"] == 0.0
    assert body["max_tokens"] == 512
    for key in ("seed", "top_p", "response_format"):
        assert key not in body
    assert response.model == "served-name"
    assert response.finish_reason == "length"
    assert response.text.startswith("1. Why does the person")


def test_official_openai_endpoint_gets_max_completion_tokens() -> None:
    kwargs = create_kwargs("gpt-x", TEXT_REQUEST, official=True)
    assert kwargs["max_completion_tokens"] == 512
    assert "max_tokens" not in kwargs


def test_anthropic_text_and_image_request_shape(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_SECRET)
    params = GenerationParams(temperature=0.5, max_tokens=64, top_p=0.8, seed=3, json_schema=SCHEMA)
    response = chat("anthropic", server, image_request("image/jpeg", JPEG, params=params))

    record = server.requests[0]
    assert record.path == "/v1/messages"
    assert sent_key(record) == ANTHROPIC_SECRET
    body = record.body
    assert body["model"] == MODEL
    assert body["system"].startswith("You interpret emotions.")
    assert "JSON schema" in body["system"]
    assert '"triggers"' in body["system"]
    assert [m["role"] for m in body["messages"]] == ["user"]
    blocks = body["messages"][0]["content"]
    assert blocks[0] == {"type": "text", "text": "What made her feel this way?"}
    assert blocks[1] == {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/jpeg",
            "data": ImagePart(media_type="image/jpeg", data=JPEG).b64(),
        },
    }
    assert body["max_tokens"] == 64
    assert body["temperature"] == 0.5
    assert body["top_p"] == 0.8
    assert "seed" not in body
    assert ANTHROPIC_SECRET.encode() not in record.raw

    assert response.text == default_reply(body)
    assert response.usage.input_tokens == count_words(all_text(body)) > 0
    assert response.usage.output_tokens == count_words(response.text) > 0
    assert response.finish_reason == "end_turn"
    assert response.model == MODEL


def test_anthropic_defaults_send_no_system_and_no_top_p(server: FakeServer) -> None:
    chat("anthropic", server)
    body = server.requests[0].body
    assert "system" not in body
    assert "top_p" not in body
    assert body["messages"] == [{"role": "user", "content": TEXT_REQUEST.messages[0].plain_text()}]
    assert sent_key(server.requests[0]) == "EMPTY"


def test_openai_key_from_environment_is_sent_as_bearer(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_SECRET)
    chat("openai", server)
    record = server.requests[0]
    assert record.headers["authorization"] == f"Bearer {OPENAI_SECRET}"
    assert OPENAI_SECRET.encode() not in record.raw


# --- error mapping ---------------------------------------------------------------------------

ERROR_CASES = [
    ("500", "server_error"),
    ("503", "server_error"),
    ("529", "server_error"),
    ("400", "bad_request"),
    ("401", "auth"),
    ("403", "auth"),
    ("404", "bad_request"),
    ("malformed", "server_error"),
    ("empty", "server_error"),
    ("drop", "server_error"),
]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("fault", "kind"), ERROR_CASES)
def test_faults_map_to_error_kinds_without_retrying(
    server: FakeServer, api: str, fault: Any, kind: str
) -> None:
    server.behaviour.fail_first = 1
    server.behaviour.fail_first_kind = fault
    error = failure(api, server)
    assert error.kind == kind
    assert error.retryable == (kind == "server_error")
    assert error.retry_after is None
    assert server.count == 1  # the SDK did not retry
    if fault.isdigit():
        assert f"HTTP {fault}" in str(error)
    assert str(error).startswith(f"{api}:{MODEL} at http://127.0.0.1:{server.port}")


@pytest.mark.parametrize("api", APIS)
def test_rate_limit_carries_retry_after_seconds(server: FakeServer, api: str) -> None:
    server.behaviour.fail_first = 1
    server.behaviour.fail_first_kind = "429"
    server.behaviour.retry_after = "7"
    error = failure(api, server)
    assert error.kind == "rate_limited"
    assert error.retryable
    assert error.retry_after == 7.0
    assert server.count == 1


@pytest.mark.parametrize("api", APIS)
def test_rate_limit_prefers_retry_after_ms(server: FakeServer, api: str) -> None:
    server.behaviour.fail_first = 1
    server.behaviour.fail_first_kind = "429"
    server.behaviour.retry_after = "7"
    server.behaviour.retry_after_ms = "1500"
    assert failure(api, server).retry_after == 1.5


def test_rate_limit_with_http_date(server: FakeServer) -> None:
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    server.behaviour.fail_first = 1
    server.behaviour.fail_first_kind = "429"
    server.behaviour.retry_after = format_datetime(later, usegmt=True)
    error = failure("openai", server)
    assert error.kind == "rate_limited"
    assert error.retry_after is not None
    assert 20 < error.retry_after <= 30


def test_parse_retry_after_forms() -> None:
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after({"retry-after": "12"}) == 12.0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Mon, 01 Jan 2024 00:00:42 GMT"}, now=now) == 42.0
    assert parse_retry_after({"retry-after": "Sun, 31 Dec 2023 00:00:00 GMT"}, now=now) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-3"}) is None
    assert parse_retry_after({"retry-after-ms": "nan"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize("api", APIS)
def test_slow_server_is_a_timeout(api: str) -> None:
    with FakeServer(Behaviour(fail_first=1, fail_first_kind="timeout", hang=10)) as server:
        start = time.monotonic()
        error = failure(api, server, timeout=0.3)
        elapsed = time.monotonic() - start
        assert server.count == 1
    assert error.kind == "timeout"
    assert "0.3 s" in str(error)
    assert elapsed < 3


@pytest.mark.parametrize("api", APIS)
def test_unreachable_server_is_a_server_error(api: str) -> None:
    with FakeServer() as gone:
        url = base_url(gone, api)
    model = make(api, [url])
    with pytest.raises(ModelCallError) as info:
        asyncio.run(_chat_and_close(model, TEXT_REQUEST))
    assert info.value.kind == "server_error"
    assert "connection failed" in str(info.value)


@pytest.mark.parametrize("api", APIS)
def test_unknown_model_is_a_clear_bad_request(server: FakeServer, api: str) -> None:
    server.behaviour.models = frozenset({"known-model"})
    assert chat(api, server, name="known-model").text
    error = failure(api, server, name="no-such-model")
    assert not error.retryable
    if api == "openai":  # refused from the /v1/models listing, before any chat call
        assert error.kind == "unavailable"
        assert "does not serve 'no-such-model'; it serves: known-model" in str(error)
    else:
        assert error.kind == "bad_request"
        assert "HTTP 404" in str(error)
        assert "'no-such-model' not found" in str(error)


def _echo_key(record: RecordedRequest) -> Any:
    return error_response(
        record.api,
        401,
        f"Incorrect API key provided: {sent_key(record)}",
        error_type="invalid_api_key",
    )


@pytest.mark.parametrize(
    ("api", "var", "secret"),
    [
        ("openai", "OPENAI_API_KEY", OPENAI_SECRET),
        ("anthropic", "ANTHROPIC_API_KEY", ANTHROPIC_SECRET),
    ],
)
def test_auth_error_never_shows_the_key(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, api: str, var: str, secret: str
) -> None:
    monkeypatch.setenv(var, secret)
    server.behaviour.hook = _echo_key
    error = failure(api, server)
    assert error.kind == "auth"
    assert not error.retryable
    assert sent_key(server.requests[0]) == secret  # and the server echoed it back
    assert "Incorrect API key provided" in str(error)
    assert "***" in str(error)
    assert secret not in str(error)
    assert secret not in "".join(traceback.format_exception(error))


@pytest.mark.parametrize(
    ("api", "var"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
def test_official_endpoint_without_a_key_is_an_auth_error(api: str, var: str) -> None:
    model = load_model(f"{api}:some-model", ModelOptions())
    with pytest.raises(ModelCallError) as info:
        asyncio.run(_chat_and_close(model, TEXT_REQUEST))
    assert info.value.kind == "auth"
    assert var in str(info.value)


# --- replicas --------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_calls_are_spread_over_base_urls(api: str) -> None:
    with (
        FakeServer(Behaviour(latency=0.05)) as first,
        FakeServer(Behaviour(latency=0.05)) as second,
    ):
        model = make(api, [base_url(first, api), base_url(second, api)])

        async def run() -> list[ChatResponse]:
            try:
                together = await asyncio.gather(*(model.chat(TEXT_REQUEST) for _ in range(8)))
                one_by_one = [await model.chat(TEXT_REQUEST) for _ in range(4)]
                return [*together, *one_by_one]
            finally:
                await model.aclose()

        responses = asyncio.run(run())
        assert len(responses) == 12
        assert (first.count, second.count) == (6, 6)
        assert first.max_in_flight == second.max_in_flight == 4


def test_replica_pool_prefers_the_least_busy() -> None:
    pool = ReplicaPool(["a", "b", "c"])
    with pool.acquire() as one, pool.acquire() as two:
        assert (one, two) == ("a", "b")
        assert pool.in_flight == [1, 1, 0]
        with pool.acquire() as three:
            assert three == "c"
    assert pool.in_flight == [0, 0, 0]
    # Ties are taken in turn, starting after the last one used.
    assert [_take(pool) for _ in range(4)] == ["a", "b", "c", "a"]


def _take(pool: ReplicaPool[str]) -> str:
    with pool.acquire() as replica:
        return replica


# --- keys and the config file ----------------------------------------------------------------


def test_keys_from_the_config_file(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[keys]\nopenai = "{OPENAI_SECRET}"\nanthropic = "{ANTHROPIC_SECRET}"\n', encoding="utf-8"
    )
    monkeypatch.setenv("EIBENCH_CONFIG", str(config))
    assert api_key("openai") == OPENAI_SECRET
    assert api_key("anthropic") == ANTHROPIC_SECRET

    chat("openai", server)
    chat("anthropic", server)
    assert server.requests[0].headers["authorization"] == f"Bearer {OPENAI_SECRET}"
    assert sent_key(server.requests[1]) == ANTHROPIC_SECRET
    assert redact(f"a {OPENAI_SECRET} b {ANTHROPIC_SECRET}") == "a *** b ***"

    # The environment wins over the file.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    assert api_key("openai") == "sk-from-the-environment"
    assert redact("sk-from-the-environment and " + OPENAI_SECRET) == "*** and ***"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[keys\nopenai = 1", "not valid TOML"),
        ("keys = 3\n", "must be a table"),
        ("[keys]\nopenai = 3\n", "keys.openai must be a string"),
    ],
)
def test_malformed_config_file_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, problem: str
) -> None:
    config = tmp_path / "bad config.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("EIBENCH_CONFIG", str(config))
    with pytest.raises(EIBenchError) as info:
        load_model("openai:some-model", ModelOptions(base_urls=["http://127.0.0.1:9/v1"]))
    message = str(info.value)
    assert str(config) in message
    assert problem in message
    assert "\n" not in message
    assert redact("nothing secret") == "nothing secret"  # redaction still works


# --- the fake server itself ------------------------------------------------------------------


def test_fake_server_serves_many_requests_at_once() -> None:
    # 0.5 s per reply: long enough that all 64 are in flight together even on a loaded machine
    with FakeServer(Behaviour(latency=0.5)) as server:
        model = make("openai", [server.openai_url])

        async def run() -> list[ChatResponse]:
            try:
                return await asyncio.gather(*(model.chat(TEXT_REQUEST) for _ in range(64)))
            finally:
                await model.aclose()

        start = time.monotonic()
        responses = asyncio.run(run())
        elapsed = time.monotonic() - start
        assert len(responses) == 64
        assert server.max_in_flight == 64
    assert elapsed < 3  # one after another would take 32 s


def test_fake_server_failure_rate_is_seeded(server: FakeServer) -> None:
    def outcomes() -> list[str]:
        model = make("openai", [server.openai_url])

        async def run() -> list[str]:
            kinds = []
            try:
                for _ in range(24):
                    try:
                        await model.chat(TEXT_REQUEST)
                        kinds.append("ok")
                    except ModelCallError as error:
                        kinds.append(error.kind)
            finally:
                await model.aclose()
            return kinds

        return asyncio.run(run())

    server.behaviour = Behaviour(fail_rate=0.5, fail_kind="503", seed=11)
    first = outcomes()
    server.behaviour.reseed(11)
    assert outcomes() == first
    assert set(first) == {"ok", "server_error"}


def test_fake_server_runs_as_a_separate_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_server", "--port", "0", "--latency", "0.01"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    watchdog = threading.Timer(30, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("fake server ready at http://127.0.0.1:"), line
        url = line.split()[-1]
        model = make("openai", [f"{url}/v1"])
        response = asyncio.run(_chat_and_close(model, TEXT_REQUEST))
        assert response.text == default_reply(
            {"messages": [{"role": "user", "content": TEXT_REQUEST.messages[0].plain_text()}]}
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- quirks of real engines, pinned against the fake server -----------------------------------


def test_a_name_the_server_does_not_serve_is_one_line_listing_those_it_does() -> None:
    with FakeServer(Behaviour(models=frozenset({"qwen-a", "qwen-b"}))) as server:
        model = make("openai", [server.openai_url], name="gpt-4o")
        with pytest.raises(ModelCallError) as info:
            asyncio.run(_chat_and_close(model, TEXT_REQUEST))
        assert info.value.kind == "unavailable"
        assert "does not serve 'gpt-4o'; it serves: qwen-a, qwen-b" in str(info.value)
        assert server.count == 0  # refused before any chat call
        served = make("openai", [server.openai_url], name="qwen-b")
        assert asyncio.run(_chat_and_close(served, TEXT_REQUEST)).text


def test_structured_output_falls_back_per_server_to_the_style_it_takes() -> None:
    """llama-cpp-python answers OpenAI's json_schema response format with an HTTP 500 naming
    the field; `auto` tries its json_object + schema form next and keeps to it."""

    def hook(record: RecordedRequest) -> Any:
        if record.body.get("response_format", {}).get("type") == "json_schema":
            return error_response(
                "openai", 500, "1 validation error: ('body', 'response_format', 'type')"
            )
        return None

    request = ChatRequest(
        messages=TEXT_REQUEST.messages, params=GenerationParams(json_schema=SCHEMA)
    )
    with FakeServer(Behaviour(hook=hook)) as server:
        model = make("openai", [server.openai_url])

        async def twice() -> None:
            try:
                await model.chat(request)
                await model.chat(request)
            finally:
                await model.aclose()

        asyncio.run(twice())
        formats = [b.get("response_format", {}).get("type") for b in server.bodies()]
        assert formats == ["json_schema", "json_object", "json_object"]
        assert server.bodies()[1]["response_format"]["schema"] == SCHEMA

    prompt_only = create_kwargs(MODEL, request, official=False, style="prompt")
    assert "response_format" not in prompt_only
    assert "JSON schema" in prompt_only["messages"][0]["content"]


def test_a_replica_that_cannot_be_reached_is_passed_over_while_another_is_up() -> None:
    pool = ReplicaPool(["a", "b"], cooldown=60)
    pool.mark_down("a")
    assert [_take(pool) for _ in range(3)] == ["b", "b", "b"]
    pool.mark_down("b")  # all down: tried anyway, in turn
    assert {_take(pool) for _ in range(2)} == {"a", "b"}
