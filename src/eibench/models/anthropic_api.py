"""`anthropic:MODEL`: the Anthropic Messages API (or a server that speaks it).

Same contract as `openai_compat`: one SDK client per base URL, the least busy replica per call,
no retries in the SDK, every failure a `ModelCallError` with a redacted one-line message.
Anthropic has no seed; it is ignored. A JSON schema is asked for in the system prompt.
Temperature and top_p travel in `extra_body`, which works with the SDK before and after 1.0.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eibench.models.base import ChatRequest, ChatResponse, Message, ModelCallError, TextPart, Usage
from eibench.models.openai_compat import (
    PLACEHOLDER_KEY,
    ReplicaPool,
    body_message,
    call_error,
    connection_error,
    display_url,
    int_or_zero,
    is_host,
    malformed_error,
    missing_key,
    missing_package,
    status_error,
    timeout_error,
)
from eibench.models.registry import ModelOptions
from eibench.models.secrets import api_key

if TYPE_CHECKING:
    import anthropic

ANTHROPIC_URL = "https://api.anthropic.com"
ANTHROPIC_HOST = "api.anthropic.com"


def json_instruction(schema: dict[str, Any]) -> str:
    return (
        "Reply with only a JSON value that matches this JSON schema, with no other text:\n"
        + json.dumps(schema, ensure_ascii=False, sort_keys=True)
    )


def anthropic_message(message: Message) -> dict[str, Any]:
    """A user or assistant message: plain text as a string, text with images as blocks."""
    images = message.images()
    if not images:
        return {"role": message.role, "content": message.plain_text()}
    if message.role != "user":
        raise call_error(
            "bad_request", f"images are only supported in user messages, not {message.role}"
        )
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": part.media_type, "data": part.b64()},
                }
            )
    return {"role": message.role, "content": blocks}


def create_kwargs(model: str, request: ChatRequest) -> dict[str, Any]:
    """The arguments of `messages.create` for `request`: system messages go to `system`."""
    params = request.params
    system = [m.plain_text() for m in request.messages if m.role == "system"]
    if params.json_schema is not None:
        system.append(json_instruction(params.json_schema))
    # anthropic>=1.0 dropped the sampling arguments from `create`; the API still takes them.
    sampling: dict[str, Any] = {"temperature": params.temperature}
    if params.top_p is not None:
        sampling["top_p"] = params.top_p
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": [anthropic_message(m) for m in request.messages if m.role != "system"],
        "max_tokens": params.max_tokens,
        "extra_body": sampling,
    }
    system_text = "\n\n".join(s for s in system if s)
    if system_text:
        kwargs["system"] = system_text
    return kwargs


@dataclass
class _Replica:
    url: str
    where: str
    client: anthropic.AsyncAnthropic


class AnthropicChat:
    """A Claude model behind the Anthropic Messages API, on one or more base URLs."""

    def __init__(self, name: str, options: ModelOptions) -> None:
        self.name = name
        self.spec = f"anthropic:{name}"
        self.timeout = options.timeout
        urls = list(options.base_urls) or [os.environ.get("ANTHROPIC_BASE_URL") or ANTHROPIC_URL]
        self.urls = [u.rstrip("/") for u in urls]
        self._pool: ReplicaPool[_Replica] | None = None
        self._setup_error: ModelCallError | None = None
        key = api_key("anthropic")  # a malformed config file raises EIBenchError here
        if key is None and any(is_host(u, ANTHROPIC_HOST) for u in self.urls):
            self._setup_error = missing_key("anthropic", "Anthropic")
            return
        try:
            import anthropic
        except ImportError:
            self._setup_error = missing_package("anthropic")
            return
        self._pool = ReplicaPool(
            [
                _Replica(
                    url=url,
                    where=f"{self.spec} at {display_url(url)}",
                    # An explicit key keeps the SDK from looking for other credentials.
                    client=anthropic.AsyncAnthropic(
                        api_key=key or PLACEHOLDER_KEY,
                        base_url=url,
                        max_retries=0,
                        timeout=self.timeout,
                    ),
                )
                for url in self.urls
            ]
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if self._pool is None:
            raise self._setup_error or ModelCallError("unavailable", f"{self.spec} is closed")
        import anthropic
        import pydantic

        kwargs = create_kwargs(self.name, request)
        with self._pool.acquire() as replica:
            where = replica.where
            try:
                message = await replica.client.messages.create(**kwargs, timeout=self.timeout)
            except anthropic.APITimeoutError:
                raise timeout_error(where, self.timeout) from None
            except anthropic.APIConnectionError as exc:
                raise connection_error(where, exc) from None
            except anthropic.APIStatusError as exc:
                raise status_error(
                    where,
                    exc.status_code,
                    headers=exc.response.headers,
                    detail=body_message(exc.body, exc.message),
                    model=self.name,
                ) from None
            except anthropic.APIResponseValidationError as exc:
                raise malformed_error(where, exc.message) from None
            except (json.JSONDecodeError, pydantic.ValidationError) as exc:
                raise malformed_error(where, f"{type(exc).__name__}: {exc}") from None
            except (anthropic.AnthropicError, ValueError) as exc:
                raise call_error("bad_request", f"{where}: {exc}") from None
        return _to_response(message, where)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for replica in pool.replicas:
                await replica.client.close()


def _to_response(message: Any, where: str) -> ChatResponse:
    """`message` as a `ChatResponse`; read defensively, as servers vary."""
    content = getattr(message, "content", None)
    if not isinstance(content, list):
        raise malformed_error(where, "no content in the response")
    text = "".join(
        block.text
        for block in content
        if getattr(block, "type", None) == "text" and isinstance(getattr(block, "text", None), str)
    )
    usage = getattr(message, "usage", None)
    stop_reason = getattr(message, "stop_reason", None)
    model = getattr(message, "model", None)
    return ChatResponse(
        text=text,
        usage=Usage(
            input_tokens=int_or_zero(getattr(usage, "input_tokens", 0)),
            output_tokens=int_or_zero(getattr(usage, "output_tokens", 0)),
        ),
        finish_reason=stop_reason if isinstance(stop_reason, str) else None,
        model=model if isinstance(model, str) else None,
    )
