"""Scores from judge outputs written by the release's scripts: one `{image: "...{score: c/t}..."}`
per line (basic lines matched by image, complex lines by order, as the release wrote them).

The release's arithmetic is kept where it is correct: a sample scores correct/total with the
judge's own total, categories are means over their samples, and the overall is the mean over
all samples. Where it is not, this differs on purpose:
- the release gave a reply with no readable score the previous item's score in its category
  (a stale score); here such a reply is counted as unparsed and left out of the means;
- the release never checked correct <= total; the ground-truth column caps it and divides by
  the ground-truth trigger count instead.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from eibench.data.categories import OVERALL
from eibench.data.load import Dataset
from eibench.data.reference import read_reference
from eibench.judges.paper import parse_score
from eibench.metrics.scores import Mean, categories
from eibench.metrics.stats import bootstrap_mean
from eibench.records.verdict import JudgeParseError


class LegacyRow(BaseModel):
    label: str
    release: Mean  # correct / judge total, as the release computed it
    truth: Mean  # min(correct, n) / n with n the ground-truth count
    n_scored: int
    n_unparsed: int
    n_over_total: int  # replies whose correct count exceeds their own total
    n_missing: int  # samples of the category with no line in the file


def score_legacy(
    path: Path, dataset: Dataset, resamples: int = 2000, seed: int = 0
) -> list[LegacyRow]:
    """Per-category and overall rows for the judge outputs in `path`."""
    scored: dict[str, tuple[float, float, bool]] = {}
    unparsed: set[str] = set()
    for sample, reply in read_reference(path, dataset):
        try:
            correct, total = parse_score(reply)
        except JudgeParseError:
            unparsed.add(sample.id)
            continue
        n = len(sample.triggers)
        scored[sample.id] = (correct / total, min(correct, n) / n, correct > total)

    def row(label: str, ids: list[str]) -> LegacyRow:
        mine = [scored[s] for s in ids if s in scored]
        return LegacyRow(
            label=label,
            release=Mean.of(bootstrap_mean([m[0] for m in mine], resamples=resamples, seed=seed)),
            truth=Mean.of(bootstrap_mean([m[1] for m in mine], resamples=resamples, seed=seed)),
            n_scored=len(mine),
            n_unparsed=sum(s in unparsed for s in ids),
            n_over_total=sum(m[2] for m in mine),
            n_missing=sum(s not in scored and s not in unparsed for s in ids),
        )

    rows = [row(label, ids) for label, ids in categories(dataset)]
    rows.append(row(OVERALL, [s.id for s in dataset.samples]))
    return rows
