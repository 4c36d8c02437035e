"""What the OpenAI and Anthropic backends share: replicas, SDK set-up, and error mapping.

One SDK client per base URL (or several, see `SDKChat.clients_per_url`); each call goes to the
replica with the fewest requests in flight (ties in turn). The SDK never retries
(`max_retries=0`): every failure becomes a `ModelCallError` whose message is one redacted line,
and the runner decides what to do.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from eibench.config import config_path
from eibench.models.base import ErrorKind, ImagePart, Message, ModelCallError, TextPart
from eibench.models.endpoint import endpoint_identity
from eibench.models.options import ModelOptions
from eibench.models.secrets import ENV_VARS, api_key, redact

if TYPE_CHECKING:
    from eibench.data.schema import Sample

# Sent as the key to servers that need none (vLLM, SGLang, Ollama); the SDKs insist on one.
PLACEHOLDER_KEY = "EMPTY"
_MESSAGE_LIMIT = 300

T = TypeVar("T")


class ReplicaPool(Generic[T]):
    """Replicas of one model; `acquire()` lends the one with the fewest calls in flight,
    taking tied replicas in turn. A replica that could not be reached (`mark_down`) is passed
    over for `cooldown` seconds while another is up, so a dead server's calls move to the
    live ones; when all are down, they are tried anyway."""

    def __init__(self, replicas: Sequence[T], cooldown: float = 10.0) -> None:
        if not replicas:
            raise ValueError("a replica pool needs at least one replica")
        self.replicas: list[T] = list(replicas)
        self.in_flight: list[int] = [0] * len(self.replicas)
        self.down_until: list[float] = [0.0] * len(self.replicas)
        self.cooldown = cooldown
        self._next = 0

    def _pick(self) -> int:
        now = time.monotonic()
        up = [i for i, until in enumerate(self.down_until) if until <= now]
        candidates = up or list(range(len(self.replicas)))
        fewest = min(self.in_flight[i] for i in candidates)
        count = len(self.replicas)
        for step in range(count):
            index = (self._next + step) % count
            if index in candidates and self.in_flight[index] == fewest:
                self._next = (index + 1) % count
                return index
        raise AssertionError("unreachable")  # pragma: no cover

    def mark_down(self, replica: T) -> None:
        """`replica` could not be reached: pass it over for a while."""
        until = time.monotonic() + self.cooldown
        for index, other in enumerate(self.replicas):
            if other is replica or _same_url(other, replica):
                self.down_until[index] = until

    @contextmanager
    def acquire(self) -> Iterator[T]:
        index = self._pick()
        self.in_flight[index] += 1
        try:
            yield self.replicas[index]
        finally:
            self.in_flight[index] -= 1


def _same_url(one: object, two: object) -> bool:
    url = getattr(one, "url", None)
    return url is not None and url == getattr(two, "url", None)


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


def call_error(
    kind: ErrorKind, text: str, *, retry_after: float | None = None, status: int | None = None
) -> ModelCallError:
    """A `ModelCallError` with a one-line message free of keys: redacted whole, then cut."""
    return ModelCallError(kind, one_line(redact(text)), retry_after=retry_after, status=status)


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
            "rate_limited",
            f"{prefix} rate limited{wait}: {detail}",
            retry_after=retry_after,
            status=status,
        )
    if status in (401, 403):
        return call_error("auth", f"{prefix} not authorised: {detail}", status=status)
    if status == 404:
        return call_error(
            "bad_request",
            f"{prefix} model {model!r} not found, or the URL serves no such API: {detail}",
            status=status,
        )
    if status == 408:
        return call_error("timeout", f"{prefix} request timeout: {detail}", status=status)
    if status == 409 or status >= 500:
        return call_error("server_error", f"{prefix}: {detail}", status=status)
    return call_error("bad_request", f"{prefix}: {detail}", status=status)


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


def json_instruction(schema: dict[str, Any]) -> str:
    """The instruction that asks for JSON to `schema` where the API cannot enforce it."""
    return (
        "Reply with only a JSON value that matches this JSON schema, with no other text:\n"
        + json.dumps(schema, ensure_ascii=False, sort_keys=True)
    )


def api_message(
    message: Message, image_block: Callable[[ImagePart], dict[str, Any]]
) -> dict[str, Any]:
    """A message in the shape both APIs share: plain text as a string, or text and image
    blocks (`image_block` writes an image the API's way). Only user messages carry images."""
    if not message.images():
        return {"role": message.role, "content": message.plain_text()}
    if message.role != "user":
        raise call_error(
            "bad_request", f"images are only supported in user messages, not {message.role}"
        )
    blocks = [
        {"type": "text", "text": part.text} if isinstance(part, TextPart) else image_block(part)
        for part in message.content
    ]
    return {"role": message.role, "content": blocks}


@dataclass
class Replica:
    url: str
    where: str  # for messages: spec and URL
    client: Any  # the SDK's async client


_Chat = TypeVar("_Chat", bound="SDKChat")


class SDKChat:
    """A chat model behind a Stainless-generated SDK (openai, anthropic) on one or more URLs.

    Subclasses name their SDK and endpoint, build a client, and call it inside `calling()`,
    which lends a replica and turns every SDK exception into a `ModelCallError`.
    """

    provider: ClassVar[str]  # the SDK's module and the spec's scheme: "openai"
    label: ClassVar[str]  # for messages: "OpenAI"
    default_url: ClassVar[str]
    url_env: ClassVar[str]  # the SDK's own base-URL variable
    host: ClassVar[str]  # the official endpoint's host, which needs a key
    base_error: ClassVar[str]  # the SDK's root exception class
    clients_per_url: ClassVar[int] = 1

    def __init__(self, name: str, options: ModelOptions) -> None:
        self.name = name
        self.spec = f"{self.provider}:{name}"
        self.timeout = options.timeout
        urls = list(options.base_urls) or [os.environ.get(self.url_env) or self.default_url]
        self.urls = [u.rstrip("/") for u in urls]
        self.cache_identity = endpoint_identity(
            self.spec, self.urls, self.default_url, options.cache_as
        )
        shown = dict.fromkeys(display_url(u) for u in self.urls)
        self.where = f"{self.spec} at {', '.join(shown)}"
        self._pool: ReplicaPool[Replica] | None = None
        self._setup_error: ModelCallError | None = None
        key = api_key(self.provider)  # a malformed config file raises EIBenchError here
        if key is None and any(is_host(u, self.host) for u in self.urls):
            self._setup_error = missing_key(self.provider, self.label)
            return
        try:
            sdk = importlib.import_module(self.provider)
        except ImportError:
            self._setup_error = missing_package(self.provider)
            return
        self._pool = ReplicaPool(
            [
                Replica(url, f"{self.spec} at {display_url(url)}", self.client(sdk, key, url))
                for _ in range(self.clients_per_url)
                for url in self.urls  # interleaved, so that replicas share the load
            ]
        )

    @classmethod
    def load(
        cls: type[_Chat], name: str, options: ModelOptions, samples: Sequence[Sample] = ()
    ) -> _Chat:
        """The registry's way in: the model `name` (the split is not needed)."""
        return cls(name, options)

    def client(self, sdk: ModuleType, key: str | None, url: str) -> Any:
        """The SDK's async client for `url` (no retries, this model's timeout)."""
        raise NotImplementedError

    async def preflight(self) -> None:
        """Before any sample: a missing key or SDK package is this call's error. Backends
        that can ask their servers more (`OpenAIChat`) do."""
        if self._pool is None:
            raise self._setup_error or ModelCallError("unavailable", f"{self.spec} is closed")

    def url_replicas(self) -> list[Replica]:
        """One replica per base URL, for per-server checks."""
        firsts: dict[str, Replica] = {}
        for replica in self._pool.replicas if self._pool is not None else []:
            firsts.setdefault(replica.url, replica)
        return list(firsts.values())

    @contextmanager
    def calling(self) -> Iterator[Replica]:
        """Lend the least busy replica; translate whatever the SDK raises meanwhile."""
        if self._pool is None:
            raise self._setup_error or ModelCallError("unavailable", f"{self.spec} is closed")
        with self._pool.acquire() as replica, self.translating(replica):
            yield replica

    @contextmanager
    def translating(self, replica: Replica) -> Iterator[None]:
        """Turn what the SDK raises for a call to `replica` into a `ModelCallError`; a server
        that cannot be reached is passed over for a while."""
        import pydantic

        sdk = importlib.import_module(self.provider)
        where = replica.where
        try:
            yield
        except sdk.APITimeoutError:
            raise timeout_error(where, self.timeout) from None
        except sdk.APIConnectionError as exc:
            if self._pool is not None:
                self._pool.mark_down(replica)
            raise connection_error(where, exc) from None
        except sdk.APIStatusError as exc:
            raise status_error(
                where,
                exc.status_code,
                headers=exc.response.headers,
                detail=body_message(exc.body, exc.message),
                model=self.name,
            ) from None
        except sdk.APIResponseValidationError as exc:
            raise malformed_error(where, exc.message) from None
        except (json.JSONDecodeError, pydantic.ValidationError) as exc:
            raise malformed_error(where, f"{type(exc).__name__}: {exc}") from None
        except (getattr(sdk, self.base_error), ValueError) as exc:
            raise call_error("bad_request", f"{where}: {exc}") from None

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for replica in pool.replicas:
                await replica.client.close()
