"""One async chat interface for every model: the model under test, captioners, CFSA roles, judges.

A backend turns a `ChatRequest` into a `ChatResponse`, or raises a `ModelCallError` whose
`kind` tells the runner whether to retry. Backends never retry on their own: retries, backoff,
rate limits and timeouts belong to the runner, so every backend behaves the same way.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from eibench.records.chat import (
    ChatRequest,
    ChatResponse,
    GenerationParams,
    ImagePart,
    Message,
    Part,
    Role,
    SamplingParams,
    TextPart,
    Usage,
    without_surrogates,
)

__all__ = [
    "RETRYABLE",
    "ChatModel",
    "ChatRequest",
    "ChatResponse",
    "ErrorKind",
    "GenerationParams",
    "ImagePart",
    "Message",
    "ModelCallError",
    "Part",
    "Role",
    "SamplingParams",
    "TextPart",
    "Usage",
    "without_surrogates",
]

ErrorKind = Literal[
    "rate_limited",  # 429: retry after `retry_after` seconds or with backoff
    "timeout",  # no answer in time: retry
    "server_error",  # 5xx, dropped connection, malformed body: retry
    "bad_request",  # 4xx other than 429 (bad input, context too long): do not retry
    "auth",  # 401/403: stop the run
    "unavailable",  # the backend cannot run here (package missing, model not found)
    "empty_reply",  # an answer with no text (content null or ""): retry, never cache
]
RETRYABLE: frozenset[str] = frozenset({"rate_limited", "timeout", "server_error", "empty_reply"})


class ModelCallError(Exception):
    """A failed model call, typed so that the runner can decide what to do."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
    ):
        super().__init__(without_surrogates(message))
        self.kind: ErrorKind = kind
        self.retry_after = retry_after
        self.status = status  # the HTTP status, where a server answered with one
        self.attempts = 0  # set by the runner when it gives up

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


@runtime_checkable
class ChatModel(Protocol):
    """What every backend provides."""

    spec: str  # the model spec it was built from, e.g. "openai:gpt-4o" (no secrets)

    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    async def aclose(self) -> None: ...
