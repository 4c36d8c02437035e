"""`openai:MODEL`: the OpenAI chat completions API and servers that speak it (vLLM, SGLang,
Ollama, LM Studio, ...).

One SDK client per base URL; calls go to the replica with the fewest requests in flight (ties
in turn). The SDK never retries (`max_retries=0`): every failure becomes a `ModelCallError`
whose message is one redacted line, and the runner decides what to do.

The replica pool and the error helpers here are shared with `anthropic_api`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from eibench.config import config_path
from eibench.models.base import (
    ChatRequest,
    ChatResponse,
    ErrorKind,
    Message,
    ModelCallError,
    TextPart,
    Usage,
)
from eibench.models.registry import ModelOptions
from eibench.models.secrets import ENV_VARS, api_key, redact

if TYPE_CHECKING:
    import openai

OPENAI_URL = "https://api.openai.com/v1"
OPENAI_HOST = "api.openai.com"
# Sent as the key to servers that need none (vLLM, SGLang, Ollama); the SDKs insist on one.
PLACEHOLDER_KEY = "EMPTY"
_MESSAGE_LIMIT = 300

T = TypeVar("T")


# -- shared helpers --------------------------------------------------------------------------


class ReplicaPool(Generic[T]):
    """Replicas of one model; `acquire()` lends the one with the fewest calls in flight,
    taking tied replicas in turn."""

    def __init__(self, replicas: Sequence[T]) -> None:
        if not replicas:
            raise ValueError("a replica pool needs at least one replica")
        self.replicas: list[T] = list(replicas)
        self.in_flight: list[int] = [0] * len(self.replicas)
        self._next = 0

    def _pick(self) -> int:
        fewest = min(self.in_flight)
        count = len(self.replicas)
        for step in range(count):
            index = (self._next + step) % count
            if self.in_flight[index] == fewest:
                self._next = (index + 1) % count
                return index
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def acquire(self) -> Iterator[T]:
        index = self._pick()
        self.in_flight[index] += 1
        try:
            yield self.replicas[index]
        finally:
            self.in_flight[index] -= 1


def one_line(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    """`text` on one line, cut to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def display_url(url: str) -> str:
    """`url` without credentials, query or fragment, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def is_host(url: str, host: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == host


def call_error(kind: ErrorKind, text: str, *, retry_after: float | None = None) -> ModelCallError:
    """A `ModelCallError` with a one-line message free of known keys."""
    return ModelCallError(kind, redact(one_line(text)), retry_after=retry_after)


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: datetime | None = None
) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            millis = float(value)
        except ValueError:
            millis = math.nan
        if math.isfinite(millis) and millis >= 0:
            return millis / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
        return max(0.0, seconds)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def body_message(body: object, fallback: str) -> str:
    """The human-readable message of an API error body (`{"error": {"message": ...}}` in both
    APIs), else `fallback`."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body
    return fallback


def status_error(
    where: str,
    status: int,
    *,
    headers: Mapping[str, str] | None,
    detail: str,
    model: str,
) -> ModelCallError:
    """The `ModelCallError` for an HTTP error status."""
    prefix = f"{where}: HTTP {status}"
    if status == 429:
        retry_after = parse_retry_after(headers)
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        return call_error(
            "rate_limited", f"{prefix} rate limited{wait}: {detail}", retry_after=retry_after
        )
    if status in (401, 403):
        return call_error("auth", f"{prefix} not authorised: {detail}")
    if status == 404:
        return call_error(
            "bad_request",
            f"{prefix} model {model!r} not found, or the URL serves no such API: {detail}",
        )
    if status == 408:
        return call_error("timeout", f"{prefix} request timeout: {detail}")
    if status == 409 or status >= 500:
        return call_error("server_error", f"{prefix}: {detail}")
    return call_error("bad_request", f"{prefix}: {detail}")


def timeout_error(where: str, timeout: float) -> ModelCallError:
    return call_error("timeout", f"{where}: no answer within {timeout:g} s")


def connection_error(where: str, exc: BaseException) -> ModelCallError:
    cause = exc.__cause__ or exc.__context__
    detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
    return call_error("server_error", f"{where}: connection failed ({detail})")


def malformed_error(where: str, detail: str) -> ModelCallError:
    return call_error("server_error", f"{where}: malformed response: {detail}")


def missing_package(package: str) -> ModelCallError:
    return ModelCallError(
        "unavailable", f"the {package} package is missing: pip install 'eibench[api]'"
    )


def missing_key(provider: str, label: str) -> ModelCallError:
    return ModelCallError(
        "auth",
        f'no {label} API key: set {ENV_VARS[provider]} or add {provider} = "..." under '
        f"[keys] in {config_path()}",
    )


def int_or_zero(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- the OpenAI backend ----------------------------------------------------------------------


@dataclass
class _Replica:
    url: str
    where: str  # for messages: spec and URL
    client: openai.AsyncOpenAI


def _image_url(media_type: str, b64: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{b64}"}}


def openai_message(message: Message) -> dict[str, Any]:
    """One message in the chat completions format: plain text as a string, text with images as
    content parts (images as data URIs)."""
    images = message.images()
    if not images:
        return {"role": message.role, "content": message.plain_text()}
    if message.role != "user":
        raise call_error(
            "bad_request", f"images are only supported in user messages, not {message.role}"
        )
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        else:
            parts.append(_image_url(part.media_type, part.b64()))
    return {"role": message.role, "content": parts}


def create_kwargs(model: str, request: ChatRequest, *, official: bool) -> dict[str, Any]:
    """The arguments of `chat.completions.create` for `request`.

    The official API takes `max_completion_tokens` (its newer models refuse `max_tokens`);
    other servers get `max_tokens`, which they all understand."""
    params = request.params
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": [openai_message(m) for m in request.messages],
        "temperature": params.temperature,
        ("max_completion_tokens" if official else "max_tokens"): params.max_tokens,
    }
    if params.top_p is not None:
        kwargs["top_p"] = params.top_p
    if params.seed is not None:
        kwargs["seed"] = params.seed
    if params.json_schema is not None:
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": params.json_schema, "strict": True},
        }
    return kwargs


# Clients per base URL. The HTTP connection pool scans all of its connections for every
# request, so many calls in flight through one client cost CPU quadratically; several smaller
# pools keep that cost flat.
CLIENTS_PER_URL = 4


class OpenAIChat:
    """A chat model behind the OpenAI chat completions API, on one or more base URLs."""

    def __init__(self, name: str, options: ModelOptions) -> None:
        self.name = name
        self.spec = f"openai:{name}"
        self.timeout = options.timeout
        urls = list(options.base_urls) or [os.environ.get("OPENAI_BASE_URL") or OPENAI_URL]
        self.urls = [u.rstrip("/") for u in urls]
        self._pool: ReplicaPool[_Replica] | None = None
        self._setup_error: ModelCallError | None = None
        key = api_key("openai")  # a malformed config file raises EIBenchError here
        if key is None and any(is_host(u, OPENAI_HOST) for u in self.urls):
            self._setup_error = missing_key("openai", "OpenAI")
            return
        try:
            import openai
        except ImportError:
            self._setup_error = missing_package("openai")
            return
        self._pool = ReplicaPool(
            [
                _Replica(
                    url=url,
                    where=f"{self.spec} at {display_url(url)}",
                    client=openai.AsyncOpenAI(
                        api_key=key or PLACEHOLDER_KEY,
                        base_url=url,
                        max_retries=0,
                        timeout=self.timeout,
                    ),
                )
                for _ in range(CLIENTS_PER_URL)
                for url in self.urls  # interleaved, so that replicas share the load
            ]
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if self._pool is None:
            raise self._setup_error or ModelCallError("unavailable", f"{self.spec} is closed")
        import openai
        import pydantic

        with self._pool.acquire() as replica:
            kwargs = create_kwargs(self.name, request, official=is_host(replica.url, OPENAI_HOST))
            where = replica.where
            try:
                # Posting the body as it is skips the SDK's per-field request transform and
                # response model, which cost milliseconds of CPU per call at high concurrency.
                completion = await replica.client.post(
                    "/chat/completions", body=kwargs, cast_to=dict
                )
            except openai.APITimeoutError:
                raise timeout_error(where, self.timeout) from None
            except openai.APIConnectionError as exc:
                raise connection_error(where, exc) from None
            except openai.APIStatusError as exc:
                raise status_error(
                    where,
                    exc.status_code,
                    headers=exc.response.headers,
                    detail=body_message(exc.body, exc.message),
                    model=self.name,
                ) from None
            except openai.APIResponseValidationError as exc:
                raise malformed_error(where, exc.message) from None
            except (json.JSONDecodeError, pydantic.ValidationError) as exc:
                raise malformed_error(where, f"{type(exc).__name__}: {exc}") from None
            except openai.OpenAIError as exc:
                raise call_error("bad_request", f"{where}: {exc}") from None
        return _to_response(completion, where)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for replica in pool.replicas:
                await replica.client.close()


def _to_response(completion: Any, where: str) -> ChatResponse:
    """The parsed JSON `completion` as a `ChatResponse`; read defensively, as servers vary."""
    if not isinstance(completion, dict):
        raise malformed_error(where, "the response is not a JSON object")
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise malformed_error(where, "no choices in the response")
    choice = choices[0]
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    content = message.get("content")
    if content is None:
        refusal = message.get("refusal")
        text = refusal if isinstance(refusal, str) else ""
    elif isinstance(content, str):
        text = content
    else:
        raise malformed_error(where, f"the message content is a {type(content).__name__}")
    usage = completion.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    finish_reason = choice.get("finish_reason")
    model = completion.get("model")
    return ChatResponse(
        text=text,
        usage=Usage(
            input_tokens=int_or_zero(usage.get("prompt_tokens", 0)),
            output_tokens=int_or_zero(usage.get("completion_tokens", 0)),
        ),
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        model=model if isinstance(model, str) else None,
    )
