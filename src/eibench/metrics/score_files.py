"""Scores from judge outputs written by the release's scripts: one `{image: "...{score: c/t}..."}`
per line (basic lines matched by image, complex lines by order, as the release wrote them),
under a rule set (`eibench.metrics.rules`).

`release` gives `get_scores.py` / `get_scores_complex.py`'s numbers to the digit: the first
strict match, c / the judge's total, and the stale score of an unreadable reply in its
category. `honest` reads the replies tolerantly and divides by the ground-truth count
(`--denominator judge`: by the judge's total; `--unparsed-as-zero`: an unreadable reply is 0).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from eibench.data.categories import OVERALL
from eibench.data.load import Dataset
from eibench.data.reference import read_reference
from eibench.judges.paper import parse_score
from eibench.metrics.rules import release_reading, stale_scores
from eibench.metrics.scores import Mean, ScorePolicy, categories
from eibench.metrics.stats import bootstrap_mean
from eibench.records.verdict import JudgeParseError


class LegacyRow(BaseModel):
    label: str
    recall: Mean = Field(description="the mean under the rule set, on the 0-1 scale")
    n_scored: int
    n_stale: int = Field(description="release rules: unreadable replies given a stale score")
    n_unparsed: int = Field(description="replies the rule set cannot read")
    n_over_total: int = Field(description="readable replies whose c exceeds their own t")
    n_missing: int = Field(description="samples of the category with no line in the file")


def score_legacy(path: Path, dataset: Dataset, policy: ScorePolicy) -> list[LegacyRow]:
    """Per-category and overall rows for the judge outputs in `path`."""
    lines = read_reference(path, dataset)
    values: dict[str, float] = {}
    over: set[str] = set()
    by_judge_total = policy.applies("judge-total")
    for sample, reply in lines:
        reading = _reading(reply, policy)
        if reading is None:
            if policy.unparsed_as_zero:
                values[sample.id] = 0.0
            continue
        correct, total = reading
        n = len(sample.triggers)
        values[sample.id] = correct / total if by_judge_total else min(correct, n) / n
        if correct > total:
            over.add(sample.id)
    lined = [sample.id for sample, _ in lines]
    stale = stale_scores(lined, values, lined) if policy.applies("stale") else {}
    has_line = set(lined)

    def row(label: str, ids: list[str], with_stale: bool) -> LegacyRow:
        in_row = {**values, **stale} if with_stale else values
        mine = [in_row[s] for s in ids if s in in_row]
        interval = bootstrap_mean(mine, resamples=policy.resamples, seed=policy.seed)
        return LegacyRow(
            label=label,
            recall=Mean.of(interval),
            n_scored=sum(s in values for s in ids),
            n_stale=sum(s in stale for s in ids) if with_stale else 0,
            n_unparsed=sum(s in has_line and s not in values for s in ids),
            n_over_total=sum(s in over for s in ids),
            n_missing=sum(s not in has_line for s in ids),
        )

    rows = [row(label, ids, True) for label, ids in categories(dataset)]
    rows.append(row(OVERALL, [s.id for s in dataset.samples], False))
    return rows


def _reading(reply: str, policy: ScorePolicy) -> tuple[int, int] | None:
    """(c, t) of a reply as the rule set reads it, or None when it cannot be read."""
    if policy.applies("first-strict"):
        return release_reading(reply)
    try:
        return parse_score(reply)
    except JudgeParseError:
        return None
