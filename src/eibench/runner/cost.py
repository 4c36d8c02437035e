"""Token prices and cost. The price table is configurable and empty by default, so cost is only
shown where the user has said what tokens cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from eibench.errors import EIBenchError
from eibench.models.base import Usage


class Price(BaseModel):
    """US dollars per million tokens."""

    input: float
    output: float

    def cost(self, usage: Usage) -> float:
        return (usage.input_tokens * self.input + usage.output_tokens * self.output) / 1e6


def price_table(raw: Mapping[str, Any], origin: str = "config") -> dict[str, Price]:
    """Read `{model spec: {input: $/Mtok, output: $/Mtok}}` (the config file's `[prices]`)."""
    table = {}
    for spec, value in raw.items():
        try:
            table[spec] = Price.model_validate(value)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise EIBenchError(f"{origin}: prices.{spec}.{where}: {problem['msg']}") from None
    return table
