"""The records of a model call: messages (text and inline images), sampling parameters, token
usage and the response. The model layer's interface (`eibench.models.base`) speaks in them,
and the store keeps them (the call cache, usage on every record)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)

from eibench.errors import EIBenchError
from eibench.validation import describe

_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """`text` with each lone UTF-16 surrogate (which no UTF-8 file can hold, and which a JSON
    reply may carry as an escape) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


Role = Literal["system", "user", "assistant"]


class ImagePart(BaseModel):
    """An image sent inline: its bytes and media type (image/jpeg, image/png, ...)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["image"] = "image"
    media_type: str
    data: bytes = Field(repr=False)

    def b64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class TextPart(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["text"] = "text"
    text: str


Part = TextPart | ImagePart


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: list[Part]

    @classmethod
    def text(cls, role: Role, text: str) -> Message:
        return cls(role=role, content=[TextPart(text=text)])

    def plain_text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    def images(self) -> list[ImagePart]:
        return [p for p in self.content if isinstance(p, ImagePart)]


class SamplingParams(BaseModel):
    """How to sample, as a person chooses it (the CLI's flags, a grid's `params:`), with the
    bounds a person can get wrong. The defaults are deterministic (temperature 0). A
    temperature or token limit of None is not sent: the server's (or the model's) own
    default applies, as in the release's scripts that set none."""

    model_config = ConfigDict(frozen=True)

    temperature: float | None = Field(0.0, ge=0, allow_inf_nan=False)
    max_tokens: int | None = Field(512, ge=1)
    top_p: float | None = Field(None, gt=0, le=1)
    seed: int | None = None


class GenerationParams(SamplingParams):
    """Everything that shapes sampling: the person's choices, a reply schema (which judges
    set), and the decoding settings a generation profile (`eibench.profiles`) carries from the
    release's scripts. Out-of-bounds values are one-line `EIBenchError`s."""

    json_schema: dict[str, Any] | None = Field(
        default=None, description="ask for JSON matching this schema where the backend can"
    )
    logprobs: int | None = Field(
        default=None,
        ge=1,
        le=20,
        description="return the N likeliest first tokens with log-probabilities, where the "
        "backend can",
    )
    do_sample: bool | None = Field(
        default=None, description="hf: sample (True) or decode greedily / by beams (False)"
    )
    repetition_penalty: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    num_beams: int | None = Field(default=None, ge=1, description="beam search with N beams")
    no_repeat_ngram_size: int | None = Field(
        default=None, ge=1, description="never repeat an n-gram of this size"
    )
    profile: str | None = Field(
        default=None,
        description="the generation profile (NAME@VERSION) these params and the request come "
        "from; under one, what the profile leaves unset is left to the model",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(cls, data: Any, handler: ModelWrapValidatorHandler[GenerationParams]) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            raise EIBenchError(f"generation params: {describe(exc, cls)}") from None


_ADDED_LATER = (
    "logprobs",
    "do_sample",
    "repetition_penalty",
    "num_beams",
    "no_repeat_ngram_size",
    "profile",
)


def _added_at_default(params: GenerationParams) -> set[str]:
    """Parameters added after the cache's first version, left out of the key while unset, so
    that adding one keeps every cached answer."""
    return {name for name in _ADDED_LATER if getattr(params, name) is None}


class ChatRequest(BaseModel):
    """Everything that shapes one model call.

    `context` carries facts about the sample (its id, split, emotion) for offline backends such
    as `prior`. API backends ignore it; it is part of the cache key all the same, since it can
    shape an answer.
    """

    model_config = ConfigDict(frozen=True)

    messages: list[Message]
    params: GenerationParams = GenerationParams()
    context: dict[str, str] = Field(default_factory=dict)

    def cache_key(self, model: str) -> str:
        """A hash of everything that shapes the answer: the model (its cache identity: the
        spec, and the endpoint where it is not the backend's default), messages (images by
        digest), parameters and context."""
        payload = {
            "model": model,
            "context": self.context,
            "params": self.params.model_dump(mode="json", exclude=_added_at_default(self.params)),
            "messages": [
                {
                    "role": m.role,
                    "content": [
                        {"text": p.text} if isinstance(p, TextPart) else {"image": p.digest()}
                        for p in m.content
                    ],
                }
                for m in self.messages
            ],
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class ChatResponse(BaseModel):
    text: str
    usage: Usage = Usage()
    finish_reason: str | None = None
    model: str | None = Field(default=None, description="the model name the server reported")
    top_logprobs: dict[str, float] | None = Field(
        default=None, description="the first output token's likeliest tokens: log-probability"
    )

    @field_validator("text", "finish_reason", "model")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        """Text that can always be stored: a lone surrogate becomes U+FFFD."""
        return None if value is None else without_surrogates(value)
