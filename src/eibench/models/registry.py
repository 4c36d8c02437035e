"""Model specs (`openai:MODEL`, `anthropic:MODEL`, `hf:ID_OR_DIR`, `prior`) to backends."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from eibench.data.schema import Sample
from eibench.errors import EIBenchError
from eibench.models.base import ChatModel


class ModelOptions(BaseModel):
    """How to reach or run a model; nothing here shapes the answer, so none of it is cached on."""

    base_urls: list[str] = Field(default_factory=list, description="replicas to spread calls over")
    timeout: float = Field(120.0, description="seconds for one request")
    device: str | None = Field(None, description="hf: cpu, cuda, cuda:1, mps; default: best found")
    device_map: str | None = Field(None, description="hf: 'auto' to spread a large model over GPUs")
    dtype: str = Field("auto", description="hf: auto, float32, float16, bfloat16")
    batch_size: int = Field(8, description="hf: requests generated together")


SCHEMES = ("openai", "anthropic", "hf", "prior")


def parse_spec(spec: str) -> tuple[str, str]:
    """Split `scheme:name` and check the scheme; `prior` takes no name."""
    scheme, _, name = spec.partition(":")
    if scheme not in SCHEMES:
        raise EIBenchError(
            f"unknown model spec {spec!r}: use openai:MODEL, anthropic:MODEL, hf:ID_OR_DIR or prior"
        )
    if scheme != "prior" and not name:
        raise EIBenchError(f"model spec {spec!r} needs a model name after '{scheme}:'")
    return scheme, name


def load_model(
    spec: str, options: ModelOptions | None = None, samples: Sequence[Sample] = ()
) -> ChatModel:
    """Build the backend for `spec`. `samples` is the split, which `prior` answers from."""
    options = options or ModelOptions()
    scheme, name = parse_spec(spec)
    if scheme == "openai":
        from eibench.models.openai_compat import OpenAIChat

        return OpenAIChat(name, options)
    if scheme == "anthropic":
        from eibench.models.anthropic_api import AnthropicChat

        return AnthropicChat(name, options)
    if scheme == "hf":
        from eibench.models.hf import HFChat

        return HFChat(name, options)
    from eibench.models.prior import PriorModel

    return PriorModel(samples)
