"""`anthropic:MODEL`: the Anthropic Messages API (or a server that speaks it).

Replicas, retries (none in the SDK) and error mapping come from `eibench.models.sdk`.
Anthropic has no seed; it is ignored. A JSON schema is asked for in the system prompt.
Temperature and top_p travel in `extra_body`, which works with the SDK before and after 1.0;
a temperature of None (a generation profile that sets none) is not sent.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from eibench.models.base import (
    ChatRequest,
    ChatResponse,
    GenerationParams,
    ImagePart,
    Message,
    ModelCallError,
    Usage,
)
from eibench.models.sdk import (
    PLACEHOLDER_KEY,
    SDKChat,
    api_message,
    int_or_zero,
    json_instruction,
    malformed_error,
)

ANTHROPIC_URL = "https://api.anthropic.com"
ANTHROPIC_HOST = "api.anthropic.com"


def _image_block(part: ImagePart) -> dict[str, Any]:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": part.media_type, "data": part.b64()},
    }


def anthropic_message(message: Message) -> dict[str, Any]:
    """A user or assistant message: plain text as a string, text with images as blocks."""
    return api_message(message, _image_block)


def _check_params(params: GenerationParams) -> None:
    """Refuse what the Messages API cannot take: no token limit (it requires one) and the
    decoding settings it has no field for."""
    if params.max_tokens is None:
        raise ModelCallError("bad_request", "the Anthropic API needs max_tokens")
    unsupported = [
        name
        for name in ("repetition_penalty", "num_beams", "no_repeat_ngram_size")
        if getattr(params, name) is not None
    ]
    if unsupported:
        raise ModelCallError("bad_request", f"the Anthropic API takes no {', '.join(unsupported)}")


def create_kwargs(model: str, request: ChatRequest) -> dict[str, Any]:
    """The arguments of `messages.create` for `request`: system messages go to `system`; a
    temperature of None is not sent."""
    params = request.params
    _check_params(params)
    system = [m.plain_text() for m in request.messages if m.role == "system"]
    if params.json_schema is not None:
        system.append(json_instruction(params.json_schema))
    # anthropic>=1.0 dropped the sampling arguments from `create`; the API still takes them.
    sampling: dict[str, Any] = {}
    if params.temperature is not None:
        sampling["temperature"] = params.temperature
    if params.top_p is not None:
        sampling["top_p"] = params.top_p
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": [anthropic_message(m) for m in request.messages if m.role != "system"],
        "max_tokens": params.max_tokens,
    }
    if sampling:
        kwargs["extra_body"] = sampling
    system_text = "\n\n".join(s for s in system if s)
    if system_text:
        kwargs["system"] = system_text
    return kwargs


class AnthropicChat(SDKChat):
    """A Claude model behind the Anthropic Messages API, on one or more base URLs."""

    provider = "anthropic"
    label = "Anthropic"
    default_url = ANTHROPIC_URL
    url_env = "ANTHROPIC_BASE_URL"
    host = ANTHROPIC_HOST
    base_error = "AnthropicError"

    def client(self, sdk: ModuleType, key: str | None, url: str) -> Any:
        # An explicit key keeps the SDK from looking for other credentials.
        return sdk.AsyncAnthropic(
            api_key=key or PLACEHOLDER_KEY, base_url=url, max_retries=0, timeout=self.timeout
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        kwargs = create_kwargs(self.name, request)
        with self.calling() as replica:
            message = await replica.client.messages.create(**kwargs, timeout=self.timeout)
        return _to_response(message, replica.where)


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
