"""What every judge protocol produces: a `Verdict` for one answer against its triggers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class JudgeParseError(Exception):
    """A judge reply that cannot be read. The message says why, in words that can be sent
    back to the judge when it is asked again."""


class TriggerEvidence(BaseModel):
    """One ground-truth trigger: whether the answer covers it, and where."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(description="1-based position in the ground-truth list")
    covered: bool
    evidence: str | None = Field(None, description="the span of the answer that covers it")
    score: float | None = Field(None, description="match strength, for judges that have one")


class Verdict(BaseModel):
    """A judged answer. `total` is always the ground-truth trigger count, never the judge's."""

    model_config = ConfigDict(frozen=True)

    correct: int = Field(description="triggers the judge counted as found")
    total: int = Field(description="ground-truth trigger count")
    judge_total: int | None = Field(None, description="the total the judge itself wrote")
    precision: float | None = Field(None, description="share of the answer's claims on a trigger")
    unsupported_rate: float | None = Field(None, description="share of claims on no trigger")
    triggers: tuple[TriggerEvidence, ...] = ()
    unmatched_claims: tuple[str, ...] = ()

    @property
    def recall(self) -> float:
        """min(correct, total) / total: never above 1, whatever the judge wrote."""
        return min(self.correct, self.total) / self.total if self.total else 0.0

    @property
    def f1(self) -> float | None:
        if self.precision is None:
            return None
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)
