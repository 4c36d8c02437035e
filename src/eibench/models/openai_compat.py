"""`openai:MODEL`: the OpenAI chat completions API and servers that speak it (vLLM, SGLang,
Ollama, LM Studio, ...).

Replicas, retries (none in the SDK) and error mapping come from `eibench.models.sdk`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from eibench.models.base import ChatRequest, ChatResponse, ImagePart, Message, Usage
from eibench.models.sdk import (
    PLACEHOLDER_KEY,
    SDKChat,
    api_message,
    int_or_zero,
    is_host,
    malformed_error,
)

OPENAI_URL = "https://api.openai.com/v1"
OPENAI_HOST = "api.openai.com"


def _image_url(part: ImagePart) -> dict[str, Any]:
    return {
        "type": "image_url",
        "image_url": {"url": f"data:{part.media_type};base64,{part.b64()}"},
    }


def openai_message(message: Message) -> dict[str, Any]:
    """One message in the chat completions format: plain text as a string, text with images as
    content parts (images as data URIs)."""
    return api_message(message, _image_url)


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


class OpenAIChat(SDKChat):
    """A chat model behind the OpenAI chat completions API, on one or more base URLs."""

    provider = "openai"
    label = "OpenAI"
    default_url = OPENAI_URL
    url_env = "OPENAI_BASE_URL"
    host = OPENAI_HOST
    base_error = "OpenAIError"
    # The HTTP connection pool scans all of its connections for every request, so many calls
    # in flight through one client cost CPU quadratically; several smaller pools keep it flat.
    clients_per_url = 4

    def client(self, sdk: ModuleType, key: str | None, url: str) -> Any:
        return sdk.AsyncOpenAI(
            api_key=key or PLACEHOLDER_KEY, base_url=url, max_retries=0, timeout=self.timeout
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        with self.calling() as replica:
            kwargs = create_kwargs(self.name, request, official=is_host(replica.url, OPENAI_HOST))
            # Posting the body as it is skips the SDK's per-field request transform and
            # response model, which cost milliseconds of CPU per call at high concurrency.
            completion = await replica.client.post("/chat/completions", body=kwargs, cast_to=dict)
        return _to_response(completion, replica.where)


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
