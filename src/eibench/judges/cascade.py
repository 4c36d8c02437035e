"""The cascade: the offline judge decides the triggers it is sure of; those whose P(covered)
falls in its uncertain band go to a model judge (the per-trigger `entail` protocol), whose
P(yes) decides them at its own threshold.

`uncertain` picks the triggers to send; `merge` folds the model's answers into the offline
verdict. The band and the model threshold are fitted on labelled data
(`benchmarks/judge_cascade.py` prints the curve of share sent against agreement).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eibench.records.verdict import Verdict


class Band(BaseModel):
    """The offline scores [low, high) the offline judge is unsure about."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float = Field(ge=0.0, le=1.0)
    high: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.low > self.high:
            raise ValueError(f"the band's low end {self.low} is above its high end {self.high}")
        return self

    def holds(self, score: float) -> bool:
        return self.low <= score < self.high

    def __str__(self) -> str:
        return f"[{self.low:g}, {self.high:g})"


def uncertain(verdict: Verdict, band: Band) -> list[int]:
    """The 1-based indices of the triggers whose offline score lies in `band`."""
    return [t.index for t in verdict.triggers if t.score is not None and band.holds(t.score)]


def merge(verdict: Verdict, p_yes: Mapping[int, float], threshold: float) -> Verdict:
    """`verdict` with each trigger in `p_yes` decided by the model: covered when its P(yes)
    reaches `threshold`; its score becomes that P(yes) and its evidence is kept."""
    triggers = tuple(
        t.model_copy(update={"covered": p_yes[t.index] >= threshold, "score": p_yes[t.index]})
        if t.index in p_yes
        else t
        for t in verdict.triggers
    )
    return verdict.model_copy(
        update={"triggers": triggers, "correct": sum(t.covered for t in triggers)}
    )


def sent_share(verdicts: list[Verdict], band: Band) -> float:
    """The share of all triggers that `band` sends to the model judge."""
    total = sum(len(v.triggers) for v in verdicts)
    return sum(len(uncertain(v, band)) for v in verdicts) / total if total else 0.0
