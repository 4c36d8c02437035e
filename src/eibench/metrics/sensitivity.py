"""Emotion sensitivity on the complex split: does the answer change with the question?

The complex split asks about the same image several times, about different people or
opposite emotions of one person. A model that reads the question gives different reasons for
"why is he angry?" and "why is he happy?"; an insensitive model repeats itself.

For every pair of items on the same image with different questions (A, B):

- answer cosine: the cosine between the two answers' embeddings, each answer embedded as the
  normalised mean of its sentence embeddings (the sentences the judge encodes);
- cross-recall: the semantic judge's recall of answer B against sample A's triggers, and of
  answer A against sample B's triggers.

High values mean the model gives the same reasons whatever the emotion asked. Both have a
floor above zero even for a perfect model: two answers about one image share a setting, and
the complex split repeats some triggers across the questions of an image (an expression,
an object), so compare models, not against zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from eibench.embed.encoder import Encoder
from eibench.judges.semantic import SemanticJudge, answer_segments


@dataclass(frozen=True)
class SensitivityItem:
    """One judged complex-split answer.

    sample_id: the sample's identity; image: its image key (pairs are formed per image);
    emotion: the emotion asked about; answer: the model's answer; triggers: the sample's
    ground-truth triggers.
    """

    sample_id: str
    image: str
    emotion: str
    answer: str
    triggers: Sequence[str]


@dataclass(frozen=True)
class SensitivityResult:
    """Pair statistics over images with at least two items.

    n_images: images that contribute a pair; n_pairs: unordered pairs of items on one image;
    mean_cosine: mean answer cosine over pairs; mean_cross_recall: mean over both directions
    of all pairs; per_sample: sample_id -> (mean cosine of its answer to the other answers on
    its image, mean recall of its answer against the other samples' triggers).
    """

    n_images: int
    n_pairs: int
    mean_cosine: float | None
    mean_cross_recall: float | None
    per_sample: dict[str, tuple[float, float]]


def answer_embedding(answer: str, encoder: Encoder) -> np.ndarray:
    """The normalised mean of the answer's sentence embeddings (zeros for an empty answer)."""
    sentences = answer_segments(answer)
    if not sentences:
        return np.zeros(encoder.encode(["."]).shape[1], dtype=np.float32)
    mean = encoder.encode(sentences).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return np.asarray(mean / norm if norm else mean, dtype=np.float32)


def _pairs(items: Sequence[SensitivityItem]) -> list[tuple[SensitivityItem, SensitivityItem]]:
    """Unordered pairs of items on one image (an item is never paired with itself)."""
    by_image: dict[str, list[SensitivityItem]] = defaultdict(list)
    for item in items:
        by_image[item.image].append(item)
    return [
        (a, b)
        for group in by_image.values()
        for a, b in combinations(group, 2)
        if a.sample_id != b.sample_id
    ]


def paired_samples(items: Sequence[SensitivityItem]) -> set[str]:
    """The sample ids that `emotion_sensitivity` gives values (those with a pair), computed
    without an encoder."""
    return {x.sample_id for pair in _pairs(items) for x in pair}


def emotion_sensitivity(
    items: Sequence[SensitivityItem], encoder: Encoder, judge: SemanticJudge
) -> SensitivityResult:
    """Answer similarity and cross-recall between the items asked about one image.

    Items of one image with the same question are not paired (they are repeats, not
    different questions). encoder: gives the answer embeddings (pass the judge's encoder to
    share its memo); judge: scores the cross-recall.
    """
    pairs = _pairs(items)
    if not pairs:
        return SensitivityResult(0, 0, None, None, {})
    vectors = {x.sample_id: answer_embedding(x.answer, encoder) for pair in pairs for x in pair}
    # Ordered (answer of one, triggers of the other), both directions of every pair.
    directed = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]
    verdicts = judge.judge_many([(src.answer, dst.triggers) for src, dst in directed])
    cos: dict[str, list[float]] = defaultdict(list)
    cross: dict[str, list[float]] = defaultdict(list)
    pair_cos = []
    for a, b in pairs:
        value = float(vectors[a.sample_id] @ vectors[b.sample_id])
        pair_cos.append(value)
        cos[a.sample_id].append(value)
        cos[b.sample_id].append(value)
    recalls = []
    for (src, _), verdict in zip(directed, verdicts, strict=True):
        recalls.append(verdict.recall)
        cross[src.sample_id].append(verdict.recall)
    per_sample = {sid: (float(np.mean(cos[sid])), float(np.mean(cross[sid]))) for sid in cos}
    return SensitivityResult(
        n_images=len({a.image for a, _ in pairs}),
        n_pairs=len(pairs),
        mean_cosine=float(np.mean(pair_cos)),
        mean_cross_recall=float(np.mean(recalls)),
        per_sample=per_sample,
    )
