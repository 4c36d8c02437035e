"""Long-term coherence: how smoothly an answer moves from one sentence to the next.

The paper splits an answer into sentences (spaCy), embeds each with bert-base-uncased [CLS],
and takes the mean cosine of adjacent sentences; one-sentence answers are skipped. Here the
encoder is any `Encoder` (`load_encoder("bert-cls:PATH")` reproduces the paper's setting, the
default MiniLM shares its embeddings with the semantic judge).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from eibench.embed.encoder import Encoder
from eibench.embed.sentences import split_sentences


def coherence(embeddings: np.ndarray) -> float | None:
    """Mean cosine of adjacent rows of `embeddings` (one row per sentence, in order).

    Rows need not be normalised. None for fewer than 2 rows: coherence is undefined for a
    one-sentence answer, and the paper skips those.
    """
    matrix = np.asarray(embeddings, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] < 2:
        return None
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms == 0, 1.0, norms)
    return float(np.mean(np.sum(unit[:-1] * unit[1:], axis=1)))


def coherence_many(
    answers: Sequence[str],
    encoder: Encoder,
    splitter: Callable[[str], list[str]] = split_sentences,
) -> list[float | None]:
    """Coherence of each answer, in order (None for answers of fewer than 2 sentences).

    All sentences are encoded in one call. With the default splitter the sentences are the
    same strings the semantic judge encodes, so the encoder's memo serves them both.
    """
    split = [splitter(answer) for answer in answers]
    unique = list(dict.fromkeys(s for sentences in split for s in sentences))
    vectors = dict(zip(unique, encoder.encode(unique), strict=True)) if unique else {}
    return [
        coherence(np.stack([vectors[s] for s in sentences])) if len(sentences) > 1 else None
        for sentences in split
    ]


def mean_coherence(values: Sequence[float | None]) -> float | None:
    """The mean over answers that have a coherence (the paper's aggregate), or None."""
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None
