"""Token prices and cost. The price table is configurable and empty by default, so cost is only
shown where the user has said what tokens cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, Field, ValidationError

from eibench.config import config_path, load_config
from eibench.errors import EIBenchError
from eibench.models.base import Usage
from eibench.validation import describe

Dollars = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
"""A finite number, not negative; `true` or `"2.5"` is refused rather than read as one."""


class Price(BaseModel):
    """US dollars per million tokens: finite and not negative."""

    input: Dollars
    output: Dollars

    def cost(self, usage: Usage) -> float:
        return (usage.input_tokens * self.input + usage.output_tokens * self.output) / 1e6


def price_table(raw: object, origin: str = "config") -> dict[str, Price]:
    """Read `{model spec: {input: $/Mtok, output: $/Mtok}}` (the config file's `[prices]`)."""
    if not isinstance(raw, Mapping):
        raise EIBenchError(
            f"{origin}: 'prices' must be a table of model specs, e.g. "
            '[prices."openai:gpt-4o"] input = 2.5, output = 10.0'
        )
    table = {}
    for spec, value in raw.items():
        try:
            table[str(spec)] = Price.model_validate(value)
        except ValidationError as exc:
            raise EIBenchError(f'{origin}: prices."{spec}": {describe(exc, Price)}') from None
    return table


def prices() -> dict[str, Price]:
    """The config file's `[prices]` table as `Price` records keyed by model spec."""
    return price_table(load_config().get("prices", {}), origin=str(config_path()))
