"""Which server answers a model: the identity the call cache keys its answers by, and the
optional checks a backend runs before any sample is spent.

An API model's answers depend on the server as much as on the name: `openai:m` at one vLLM
server is not `openai:m` at another. So the cache identity of an API model is its spec plus
its endpoint, the sorted set of its normalised base URLs (replicas listed together share
one), except at the backend's default endpoint (api.openai.com, api.anthropic.com), whose
identity is the bare spec, as every cache key was before endpoints counted. `cache_as`
names the endpoint instead of its URLs, so that two servers of the same weights share
answers; `cache_as="default"` files them with the default endpoint's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from eibench.models.base import ChatModel

DEFAULT_ENDPOINT = "default"
"""The `cache_as` name of a backend's default endpoint: the bare spec, no endpoint."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normal_url(url: str) -> str:
    """`url` as the cache compares it: scheme and host lower-cased, the scheme's default port,
    credentials, query, fragment and trailing slashes dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    return urlunsplit((scheme, host, parts.path.rstrip("/"), "", ""))


def endpoint_identity(
    spec: str, urls: Iterable[str], default_url: str, cache_as: str | None = None
) -> str:
    """The cache identity of `spec` served at `urls`: the spec alone at `default_url` (or
    with `cache_as="default"`), else `spec@NAME` for a `cache_as` name, else
    `spec@URL1,URL2` over the sorted, normalised, distinct URLs."""
    if cache_as is not None:
        name = cache_as.strip()
        return spec if name == DEFAULT_ENDPOINT else f"{spec}@{name}"
    endpoints = sorted({normal_url(u) for u in urls})
    if endpoints == [normal_url(default_url)]:
        return spec
    return f"{spec}@{','.join(endpoints)}"


def cache_identity(model: ChatModel) -> str:
    """What the call cache keys `model`'s answers by: its `cache_identity` where the backend
    sets one (API models), else its spec (hf: the model path; prior)."""
    identity = getattr(model, "cache_identity", None)
    return identity if isinstance(identity, str) and identity else model.spec


def where(model: ChatModel) -> str:
    """`model` and where it is served, for messages: `openai:m at http://gpu1:8000/v1`."""
    found = getattr(model, "where", None)
    return found if isinstance(found, str) and found else model.spec


@runtime_checkable
class Preflighted(Protocol):
    """A model that can tell, before any sample is spent, that it cannot answer at all."""

    async def preflight(self) -> None:
        """Raise `ModelCallError` when no call can succeed: no key, no package, no server
        that answers, or a server that does not serve the model."""
        ...
