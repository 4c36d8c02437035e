"""The pre-flight check a stage runs before it spends any item: every model it calls can
answer at all (a key, the SDK, a server that answers and serves the model). A model that
cannot is one line (`NotReady`), with nothing sent and nothing stored as failed."""

from __future__ import annotations

from collections.abc import Iterable

from eibench.errors import EIBenchError
from eibench.models.base import ChatModel, ModelCallError
from eibench.models.endpoint import Preflighted


class NotReady(EIBenchError):
    """A model the stage calls cannot answer at all; no item was started."""


async def preflight(models: Iterable[ChatModel]) -> None:
    """Check each distinct model that can be checked; raise `NotReady` at the first that
    cannot answer."""
    checked: set[int] = set()
    for model in models:
        if id(model) in checked or not isinstance(model, Preflighted):
            continue
        checked.add(id(model))
        try:
            await model.preflight()
        except ModelCallError as error:
            raise NotReady(f"pre-flight: {error}; nothing was run") from None
