"""How to reach or run a model (`ModelOptions`) and what a server's base URL must look like.

Both the registry and the backends import this; it imports neither, so there is no cycle."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)

from eibench.errors import EIBenchError
from eibench.validation import describe

_URL_RULE = "a base URL must be http:// or https:// with a host"


def base_url_problem(url: str) -> str | None:
    """What is wrong with `url` as a server's base URL, or None. The URL itself is not
    repeated: it may have been a secret from the environment put in the wrong place."""
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return f"{_URL_RULE} (this one is empty or holds spaces or control characters)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return f"{_URL_RULE} (this one cannot be read as a URL)"
    if parts.scheme not in ("http", "https"):
        if parts.scheme and "//" in url:
            return f"{_URL_RULE} (this one starts with {parts.scheme}:)"
        return f"{_URL_RULE} (this one has no http:// or https://)"
    if not parts.hostname:
        return f"{_URL_RULE} (this one has no host)"
    return None


def check_base_url(url: str) -> str:
    """`url`, when it is a usable base URL; else `ValueError` (for pydantic fields)."""
    problem = base_url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return url


BaseUrl = Annotated[str, AfterValidator(check_base_url)]
"""An http(s) server URL with a host, e.g. http://gpu1:8000/v1."""


StructuredOutput = Literal["auto", "json_schema", "json_object", "prompt"]
"""How an OpenAI-compatible server is asked for JSON to a schema: `json_schema` (OpenAI, vLLM,
SGLang, llama-server), `json_object` with the schema beside it (llama-cpp-python), `prompt`
(the schema in the prompt only, for servers with no constrained decoding), or `auto`: each
in turn, per server, until one is accepted."""


class ModelOptions(BaseModel):
    """How to reach or run a model. Of these, only the endpoint (`base_urls`, or `cache_as`
    in their place) is part of the call cache's key (see `eibench.models.endpoint`).

    Every entry point (CLI flags, grids, panels) builds one, so bad options are refused here
    too, as a one-line `EIBenchError`."""

    base_urls: list[BaseUrl] = Field(
        default_factory=list, description="replicas to spread calls over"
    )
    cache_as: str | None = Field(
        None,
        min_length=1,
        pattern=r"\S",
        description="cache answers under this endpoint name instead of the base URLs, so that "
        "servers of the same model share them; 'default': as the backend's default endpoint",
    )
    timeout: float = Field(120.0, description="seconds for one request")
    device: str | None = Field(None, description="hf: cpu, cuda, cuda:1, mps; default: best found")
    device_map: str | None = Field(None, description="hf: 'auto' to spread a large model over GPUs")
    dtype: str = Field("auto", description="hf: auto, float32, float16, bfloat16")
    batch_size: int = Field(8, description="hf: requests generated together")
    structured_output: StructuredOutput = Field(
        "auto", description="openai: how a JSON schema is asked for (see StructuredOutput)"
    )

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(cls, data: Any, handler: ModelWrapValidatorHandler[ModelOptions]) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            raise EIBenchError(f"model options: {describe(exc, cls)}") from None
