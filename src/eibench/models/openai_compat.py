"""`openai:MODEL`: the OpenAI chat completions API and servers that speak it (vLLM, SGLang,
Ollama, LM Studio, ...).

Replicas, retries (none in the SDK) and error mapping come from `eibench.models.sdk`.
"""

from __future__ import annotations

import asyncio
import logging
from types import ModuleType
from typing import Any, get_args

from eibench.models.base import (
    ChatRequest,
    ChatResponse,
    GenerationParams,
    ImagePart,
    Message,
    ModelCallError,
    Usage,
)
from eibench.models.options import ModelOptions, StructuredOutput
from eibench.models.sdk import (
    PLACEHOLDER_KEY,
    Replica,
    SDKChat,
    api_message,
    int_or_zero,
    is_host,
    json_instruction,
    malformed_error,
    one_line,
)

log = logging.getLogger("eibench.models")

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


# The ways of asking for JSON, in the order `auto` tries them.
STYLES: tuple[StructuredOutput, ...] = tuple(s for s in get_args(StructuredOutput) if s != "auto")


def extra_sampling(params: GenerationParams) -> dict[str, Any]:
    """The decoding settings that the chat completions API has no field for, as vLLM takes
    them: top-level fields of the body, where the SDK's `extra_body` puts them.

    `repetition_penalty` as it is; N beams as `use_beam_search` with `n` N (vLLM's beam width;
    the first choice is the best beam); `no_repeat_ngram_size` under transformers' name,
    which vLLM does not have: it ignores the field (and logs it), while a server built on
    transformers can apply it. `do_sample` is not sent: these servers sample exactly when the
    temperature is above 0."""
    extra: dict[str, Any] = {}
    if params.repetition_penalty is not None:
        extra["repetition_penalty"] = params.repetition_penalty
    if params.num_beams is not None and params.num_beams > 1:
        extra["use_beam_search"], extra["n"] = True, params.num_beams
    if params.no_repeat_ngram_size is not None:
        extra["no_repeat_ngram_size"] = params.no_repeat_ngram_size
    return extra


def create_kwargs(
    model: str, request: ChatRequest, *, official: bool, style: StructuredOutput = "json_schema"
) -> dict[str, Any]:
    """The arguments of `chat.completions.create` for `request`, asking for JSON the `style`
    way when the request has a schema. A temperature or token limit of None is not sent.

    The official API takes `max_completion_tokens` (its newer models refuse `max_tokens`);
    other servers get `max_tokens`, which they all understand."""
    params = request.params
    messages = [openai_message(m) for m in request.messages]
    schema = params.json_schema
    if schema is not None and style == "prompt":
        messages = _with_system(messages, json_instruction(schema))
    kwargs: dict[str, Any] = {"model": model, "messages": messages}
    if params.temperature is not None:
        kwargs["temperature"] = params.temperature
    if params.max_tokens is not None:
        kwargs["max_completion_tokens" if official else "max_tokens"] = params.max_tokens
    if params.top_p is not None:
        kwargs["top_p"] = params.top_p
    if params.seed is not None:
        kwargs["seed"] = params.seed
    if params.logprobs is not None:
        kwargs["logprobs"], kwargs["top_logprobs"] = True, params.logprobs
    if schema is not None and style == "json_schema":
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        }
    elif schema is not None and style == "json_object":
        kwargs["response_format"] = {"type": "json_object", "schema": schema}
    return {**kwargs, **extra_sampling(params)}


def _with_system(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """`messages` with `text` added to the system message (one is put first if none is)."""
    if messages and messages[0]["role"] == "system" and isinstance(messages[0]["content"], str):
        first = {**messages[0], "content": f"{messages[0]['content']}\n\n{text}"}
        return [first, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


def refuses_format(error: ModelCallError) -> bool:
    """Whether `error` is a server refusing the request's `response_format` (a 4xx, or the 500
    llama-cpp-python answers with, naming the field), rather than anything else."""
    text = str(error).lower()
    return (
        error.kind in ("bad_request", "server_error")
        and error.status is not None
        and ("response_format" in text or "json_schema" in text)
    )


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

    def __init__(self, name: str, options: ModelOptions) -> None:
        super().__init__(name, options)
        self.structured_output = options.structured_output
        self._styles: dict[str, StructuredOutput] = {}  # per URL, the style it accepted
        # Per URL, the check that it serves this model: its error, or None.
        self._checks: dict[str, asyncio.Future[ModelCallError | None]] = {}

    def client(self, sdk: ModuleType, key: str | None, url: str) -> Any:
        return sdk.AsyncOpenAI(
            api_key=key or PLACEHOLDER_KEY, base_url=url, max_retries=0, timeout=self.timeout
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        with self.calling() as replica:
            await self._check_served(replica)
            official = is_host(replica.url, OPENAI_HOST)
            styles = self._style_order(replica.url, request)
            for index, style in enumerate(styles):
                kwargs = create_kwargs(self.name, request, official=official, style=style)
                try:
                    # Posting the body as it is skips the SDK's per-field request transform and
                    # response model, which cost milliseconds of CPU per call at high
                    # concurrency.
                    completion = await self._post(replica, kwargs)
                except ModelCallError as error:
                    if index + 1 < len(styles) and refuses_format(error):
                        continue
                    raise
                if request.params.json_schema is not None:
                    self._styles[replica.url] = style
                break
        return _to_response(completion, replica.where)

    async def _post(self, replica: Replica, kwargs: dict[str, Any]) -> Any:
        with self.translating(replica):
            return await replica.client.post("/chat/completions", body=kwargs, cast_to=dict)

    def _style_order(self, url: str, request: ChatRequest) -> tuple[StructuredOutput, ...]:
        """The structured-output styles to try for `request` at `url`, in order."""
        if request.params.json_schema is None:
            return ("json_schema",)  # unused: no schema, no response_format
        if self.structured_output != "auto":
            return (self.structured_output,)
        known = self._styles.get(url)
        return (known,) if known is not None else STYLES

    async def preflight(self) -> None:
        """Before any sample: the key and SDK are there, and each server answers its `/models`
        listing and serves this model (`_check_served`). A replica that cannot be reached is
        passed over (and logged) while another answers; when none does, that is the error."""
        await super().preflight()
        replicas = self.url_replicas()
        results = await asyncio.gather(
            *(self._check_served(r) for r in replicas), return_exceptions=True
        )
        unreachable: list[ModelCallError] = []
        for result in results:
            if isinstance(result, ModelCallError) and result.status is None and result.retryable:
                unreachable.append(result)
            elif isinstance(result, BaseException):
                raise result
        if unreachable and len(unreachable) == len(replicas):
            raise unreachable[0]
        for error in unreachable:
            log.warning("passed over for now: %s", error)

    async def _check_served(self, replica: Replica) -> None:
        """Once per server: refuse a model name that its `/models` listing does not hold,
        naming the ones it does (engines such as llama-cpp-python answer any name with the
        one model they serve). A server with no listing is not checked; one that cannot be
        reached, or refuses the key, is checked again on the next call."""
        if is_host(replica.url, OPENAI_HOST):
            return
        check = self._checks.get(replica.url)
        if check is None:
            check = self._checks[replica.url] = asyncio.ensure_future(self._served_error(replica))
        try:
            problem = await asyncio.shield(check)
        except ModelCallError:
            self._checks.pop(replica.url, None)
            raise
        if problem is not None:
            raise ModelCallError(problem.kind, str(problem))

    async def _served_error(self, replica: Replica) -> ModelCallError | None:
        try:
            with self.translating(replica):
                listing = await replica.client.get("/models", cast_to=dict)
        except ModelCallError as error:
            if error.status is None or error.kind == "auth":  # the chat call would fail alike
                raise
            return None  # no listing here: nothing to check against
        data = listing.get("data") if isinstance(listing, dict) else None
        models = data if isinstance(data, list) else []
        names = [m["id"] for m in models if isinstance(m, dict) and isinstance(m.get("id"), str)]
        if not names or self.name in names:
            return None
        return ModelCallError(
            "unavailable",
            one_line(
                f"{replica.where} does not serve {self.name!r}; it serves: {', '.join(names)} "
                f"(use --model openai:{names[0]})"
            ),
        )


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
        top_logprobs=first_token_logprobs(choice.get("logprobs")),
    )


def first_token_logprobs(logprobs: object) -> dict[str, float] | None:
    """The first output token's alternatives as {token: log-probability}, from either shape
    servers send: OpenAI's chat shape (`content[0].top_logprobs`, a list of {token, logprob};
    vLLM, SGLang, llama-server) or the completions shape (`top_logprobs[0]`, a {token:
    logprob} map; llama-cpp-python's chat endpoint). None when there are none."""
    if not isinstance(logprobs, dict):
        return None
    content = logprobs.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        pairs = content[0].get("top_logprobs")
        if isinstance(pairs, list):
            found = {
                p["token"]: float(p["logprob"])
                for p in pairs
                if isinstance(p, dict)
                and isinstance(p.get("token"), str)
                and isinstance(p.get("logprob"), (int, float))
            }
            return found or None
    legacy = logprobs.get("top_logprobs")
    if isinstance(legacy, list) and legacy and isinstance(legacy[0], dict):
        found = {t: float(v) for t, v in legacy[0].items() if isinstance(v, (int, float))}
        return found or None
    return None
