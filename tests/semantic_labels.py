"""The semantic judge's labelled set (`tests/data/semantic_labels.jsonl`) and how agreement with
it is measured; shared by `tests/test_semantic_judge.py` and `benchmarks/semantic_cv.py`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eibench.embed import Encoder, split_sentences
from eibench.metrics.agreement import cohen_kappa
from eibench.review.labelled import load_labelled as labelled_rows

LABELS = Path(__file__).parent / "data" / "semantic_labels.jsonl"
# Plain cosine baseline: max cosine of the trigger to an answer sentence, threshold fitted on
# the tune fold the same way as the judge's.
BASELINE_THRESHOLD = 0.39


def load_labelled(data: Path) -> list[dict[str, Any]]:
    """The labelled answers, each with its sample's triggers and emotion from the release and
    its per-trigger human labels as an array."""
    return [
        {**r.row.model_dump(exclude_defaults=True), "triggers": r.triggers,
         "emotion": r.emotion, "labels": np.array(r.row.labels)}
        for r in labelled_rows(LABELS, data)
    ]  # fmt: skip


def cosine_scores(encoder: Encoder, rows: Sequence[dict[str, Any]]) -> list[np.ndarray]:
    """The baseline's score per trigger: its best cosine to a sentence of the answer."""
    return [
        (encoder.encode(r["triggers"]) @ encoder.encode(split_sentences(r["answer"])).T).max(1)
        for r in rows
    ]


def agreement(
    rows: Sequence[dict[str, Any]], predicted: Sequence[Sequence[int]]
) -> tuple[float, float, float]:
    """(kappa, accuracy, mean |recall difference|) of per-trigger predictions against the
    human labels of `rows`."""
    human = np.concatenate([r["labels"] for r in rows])
    judged = np.concatenate([np.asarray(p, dtype=int) for p in predicted])
    diff = [abs(np.mean(p) - np.mean(r["labels"])) for r, p in zip(rows, predicted, strict=True)]
    return cohen_kappa(human, judged), float(np.mean(human == judged)), float(np.mean(diff))
