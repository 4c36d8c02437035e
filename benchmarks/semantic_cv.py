"""Cross-validated agreement of the semantic judge's scorings with the human labels.

    python -m benchmarks.semantic_cv [--data ../shared/eibench] [--seeds 5]

tests/data/semantic_labels.jsonl holds 84 answers (one per release sample) with one human 0/1
label per trigger. The tune/test split of that file is small (the test fold's kappa moves by
about 0.1 under a bootstrap), so methods are compared by 5-fold cross-validation grouped by
sample: for every fold the threshold that maximises Cohen's kappa on the other four folds is
applied to the held-out fold; kappa, accuracy and the mean per-sample |recall difference| are
averaged over the folds and over `--seeds` shuffles. Scorings compared:

- word-recall-v2: the judge's scores (sqrt-idf weighted word recall, the current method);
- word-recall-v1: the same with every trigger word weighing alike (the previous method);
- sentence cosine: the max cosine of the trigger to an answer sentence (the plain baseline).

Also prints each scoring at its fixed default threshold on the tune and test folds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tests.semantic_labels import BASELINE_THRESHOLD, agreement, cosine_scores, load_labelled

from eibench.embed import load_encoder
from eibench.embed.encoder import WordEncoder
from eibench.judges.semantic import (
    DEFAULT_THRESHOLD,
    answer_segments,
    score_triggers,
    trigger_form,
    word_weight,
)

REPO = Path(__file__).resolve().parent.parent
GRID = np.round(np.arange(0.20, 0.70, 0.0025), 4)
FOLDS = 5

Scores = list[np.ndarray]  # per answer, one score per trigger


def word_scores(
    encoder: WordEncoder, rows: Sequence[dict[str, Any]], weight: Callable[[str], float]
) -> Scores:
    out = []
    for r in rows:
        segments = encoder.encode_words(answer_segments(r["answer"]))
        triggers = encoder.encode_words([trigger_form(t) for t in r["triggers"]])
        scored = score_triggers(segments, triggers, weight)
        out.append(np.array([s.score for s in scored]))
    return out


def agreement_at(
    rows: Sequence[dict[str, Any]], scores: Scores, idx: Sequence[int], threshold: float
) -> tuple[float, float, float]:
    """(kappa, accuracy, mean |recall difference|) of the answers `idx` at `threshold`."""
    return agreement([rows[i] for i in idx], [scores[i] >= threshold for i in idx])


def fit_threshold(rows: Sequence[dict[str, Any]], scores: Scores, idx: Sequence[int]) -> float:
    """The grid threshold with the best kappa on `idx` (ties: the lowest)."""
    kappas = [agreement_at(rows, scores, idx, float(t))[0] for t in GRID]
    return float(GRID[int(np.argmax(kappas))])


def cross_validate(
    rows: Sequence[dict[str, Any]], scores: Scores, seeds: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over folds x seeds of (kappa, accuracy, recall diff)."""
    figures = []
    for seed in range(seeds):
        order = np.random.default_rng(seed).permutation(len(rows))
        folds = [order[k::FOLDS] for k in range(FOLDS)]
        for k in range(FOLDS):
            train = np.concatenate([folds[j] for j in range(FOLDS) if j != k])
            threshold = fit_threshold(rows, scores, list(train))
            figures.append(agreement_at(rows, scores, list(folds[k]), threshold))
    table = np.array(figures)
    return table.mean(axis=0), table.std(axis=0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eibench")
    parser.add_argument("--seeds", type=int, default=5, help="shuffles of the 5 folds")
    args = parser.parse_args(argv)
    rows = load_labelled(args.data)
    encoder = load_encoder()
    scorings = {
        "word-recall-v2 (sqrt-idf)": (word_scores(encoder, rows, word_weight), DEFAULT_THRESHOLD),
        "word-recall-v1 (uniform)": (word_scores(encoder, rows, lambda w: 1.0), 0.43),
        "sentence cosine": (cosine_scores(encoder, rows), BASELINE_THRESHOLD),
    }
    tune = [i for i, r in enumerate(rows) if r["fold"] == "tune"]
    test = [i for i, r in enumerate(rows) if r["fold"] == "test"]
    print(f"{len(rows)} answers, {sum(len(r['labels']) for r in rows)} triggers")
    print(f"{FOLDS}-fold CV x {args.seeds} seeds (mean ± sd over folds): kappa, accuracy, |diff|")
    for name, (scores, default) in scorings.items():
        mean, sd = cross_validate(rows, scores, args.seeds)
        fixed = [agreement_at(rows, scores, idx, default) for idx in (tune, test)]
        print(
            f"{name:28s} CV kappa={mean[0]:.3f}±{sd[0]:.2f} accuracy={mean[1]:.3f}"
            f" diff={mean[2]:.3f} | at {default:.2f}: tune "
            + "/".join(f"{v:.3f}" for v in fixed[0])
            + " test "
            + "/".join(f"{v:.3f}" for v in fixed[1])
        )


if __name__ == "__main__":
    main()
