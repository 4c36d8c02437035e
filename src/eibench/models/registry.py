"""Model specs (`openai:MODEL`, `anthropic:MODEL`, `hf:ID_OR_DIR`, `prior`) to backends.

A backend is a class registered under its spec's scheme. The built-in ones are registered as
`module:Class` references and imported the first time a spec names them, so importing this
module imports no SDK and no torch. Adding a backend is one module with a class that has a
`load(name, options, samples)` class method, and one `register_backend` call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from eibench.data.schema import Sample
from eibench.errors import EIBenchError
from eibench.models.base import ChatModel
from eibench.models.options import BaseUrl, ModelOptions, base_url_problem, check_base_url
from eibench.registry import Registry, or_list, resolve

__all__ = [
    "BACKENDS",
    "BackendClass",
    "BaseUrl",
    "ModelOptions",
    "Scheme",
    "base_url_problem",
    "check_base_url",
    "load_model",
    "parse_spec",
    "register_backend",
    "schemes",
]


class BackendClass(Protocol):
    """What the registry needs of a backend class: a way to build a model for a spec."""

    def load(self, name: str, options: ModelOptions, samples: Sequence[Sample]) -> ChatModel:
        """The model for `name` (the spec after `scheme:`); `samples` is the split, for
        backends that answer from it (`prior`)."""
        ...


@dataclass(frozen=True)
class Scheme:
    """One spec scheme: its backend, and how a spec of it is written (for messages)."""

    backend: BackendClass | str  # the class, or `module:Class` imported on first use
    usage: str  # "openai:MODEL"
    needs_name: bool = True  # False: the spec is the bare scheme (`prior`)

    def backend_class(self) -> BackendClass:
        if isinstance(self.backend, str):
            return resolve(self.backend)  # type: ignore[no-any-return]
        return self.backend


BACKENDS: Registry[Scheme] = Registry("model scheme")


def register_backend(
    scheme: str,
    backend: BackendClass | str,
    *,
    usage: str | None = None,
    needs_name: bool = True,
    replace: bool = False,
) -> Scheme:
    """Make `scheme:NAME` specs load `backend` (a class, or `module:Class` imported when a spec
    first names it). `usage` is how such a spec is written in messages (`scheme:NAME`)."""
    entry = Scheme(backend, usage or (f"{scheme}:NAME" if needs_name else scheme), needs_name)
    return BACKENDS.register(scheme, entry, replace=replace)


register_backend("openai", "eibench.models.openai_compat:OpenAIChat", usage="openai:MODEL")
register_backend("anthropic", "eibench.models.anthropic_api:AnthropicChat", usage="anthropic:MODEL")
register_backend("hf", "eibench.models.hf:HFChat", usage="hf:ID_OR_DIR")
register_backend("prior", "eibench.models.prior:PriorModel", needs_name=False)


def schemes() -> tuple[str, ...]:
    """The registered schemes, in registration order."""
    return BACKENDS.names()


def parse_spec(spec: str) -> tuple[str, str]:
    """Split `scheme:name` and check the scheme; a scheme like `prior` takes no name."""
    scheme, _, name = spec.partition(":")
    if scheme not in BACKENDS:
        usages = or_list([BACKENDS.get(s).usage for s in schemes()])
        raise EIBenchError(f"unknown model spec {spec!r}: use {usages}")
    if BACKENDS.get(scheme).needs_name and not name:
        raise EIBenchError(f"model spec {spec!r} needs a model name after '{scheme}:'")
    return scheme, name


def load_model(
    spec: str, options: ModelOptions | None = None, samples: Sequence[Sample] = ()
) -> ChatModel:
    """Build the backend for `spec`. `samples` is the split, which `prior` answers from."""
    scheme, name = parse_spec(spec)
    return BACKENDS.get(scheme).backend_class().load(name, options or ModelOptions(), samples)
