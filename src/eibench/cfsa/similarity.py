"""Text-similarity helpers of the CFSA pipeline (pure functions over an `Encoder`).

- `dedupe_triggers` cleans a drafted trigger list of repeated items (compared by
  `data.triggers.loose_trigger_key`).
- `novelty` and `should_continue` decide whether one more scenario self-ask round is worth it.
- `cluster_questions` groups the open questions an LLM proposed over a sample of images and
  keeps the most frequent ones (how the paper chose its four general questions).

Nothing here calls a model other than the given encoder, so results depend only on the inputs
and the encoder's vectors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from eibench.data.triggers import loose_trigger_key
from eibench.embed.encoder import Encoder

TEXT_RATIO = 0.9  # difflib ratio at or above which two normalised texts are the same item

# Words that flip a statement; two texts that differ in them are never merged by similarity,
# however close their spelling or vectors ("He is smiling" / "He is not smiling").
_NEGATIONS = frozenset(
    {"not", "no", "never", "nobody", "none", "nothing", "nowhere", "neither", "nor", "without"}
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _negations(key: str) -> frozenset[str]:
    """The negating words of a normalised text ("n't" and "cannot" count as "not")."""
    found = set()
    for word in _WORD.findall(key):
        if word.endswith("n't") or word == "cannot":
            found.add("not")
        elif word in _NEGATIONS:
            found.add(word)
    return frozenset(found)


def _similar_text(a: str, b: str) -> bool:
    """Whether two normalised texts are spelled nearly the same (difflib ratio >= 0.9)."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    # real_quick_ratio and quick_ratio are upper bounds of ratio: cheap rejections first.
    return (
        matcher.real_quick_ratio() >= TEXT_RATIO
        and matcher.quick_ratio() >= TEXT_RATIO
        and matcher.ratio() >= TEXT_RATIO
    )


def _unit_rows(vectors: np.ndarray, expected: int) -> np.ndarray:
    """The encoder's rows as float64 unit vectors (zero rows stay zero)."""
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != expected:
        raise ValueError(f"encoder returned shape {matrix.shape} for {expected} texts")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: np.ndarray = matrix / np.where(norms == 0, 1.0, norms)
    return unit


def dedupe_triggers(
    triggers: Sequence[str], encoder: Encoder | None = None, threshold: float = 0.9
) -> list[str]:
    """The triggers without empty items and near-duplicates, first occurrence kept, in order.

    triggers: drafted trigger texts, as written (numbering allowed). Two items are duplicates
    when their `loose_trigger_key` keys are equal, or the keys' difflib ratio is at least 0.9, or
    (only when `encoder` is given) the cosine of the keys' embeddings is at least `threshold`.
    The two similarity rules never merge items whose negating words differ ("not", "no",
    "never", "n't", ...). Kept items are returned unchanged. With all-MiniLM-L6-v2, 0.9 merges
    close rewordings ("The child is holding a balloon." / "A balloon is held by the child.",
    cosine 0.95) and keeps related but different triggers ("His fists are clenched." / "His
    jaw is clenched.", 0.85); 0.8 also merges looser paraphrases ("The man is smiling
    broadly." / "The man has a big smile on his face.", 0.83), and that fists / jaw pair.
    """
    items = [(text, key) for text in triggers if (key := loose_trigger_key(text))]
    if not items:
        return []
    vectors: np.ndarray | None = None
    if encoder is not None:
        keys = list(dict.fromkeys(key for _, key in items))
        unit = _unit_rows(encoder.encode(keys), len(keys))
        row_of = {key: i for i, key in enumerate(keys)}
        vectors = unit[[row_of[key] for _, key in items]]
    kept: list[int] = []
    for i, (_, key) in enumerate(items):
        negations = _negations(key)
        duplicate = False
        for j in kept:
            other = items[j][1]
            if key == other:
                duplicate = True
            elif negations != _negations(other):
                continue
            elif _similar_text(key, other) or (
                vectors is not None and float(vectors[i] @ vectors[j]) >= threshold
            ):
                duplicate = True
            if duplicate:
                break
        if not duplicate:
            kept.append(i)
    return [items[i][0] for i in kept]


def novelty(new: Sequence[str], seen: Sequence[str], encoder: Encoder) -> float:
    """How much information the `new` texts add over the `seen` ones, from 0 to 1.

    new: the answers of the latest round; seen: everything gathered before it (query,
    reconstruction, earlier answers). For each new text, its novelty is 1 minus its highest
    cosine to any seen text (cosines below 0 count as 0); the result is the mean over the new
    texts. Blank texts are ignored. 1.0 when nothing was seen; 0.0 when there is nothing new.
    """
    fresh = [text for text in new if text.strip()]
    known = [text for text in seen if text.strip()]
    if not fresh:
        return 0.0
    if not known:
        return 1.0
    a = _unit_rows(encoder.encode(fresh), len(fresh))
    b = _unit_rows(encoder.encode(known), len(known))
    closest = np.clip((a @ b.T).max(axis=1), 0.0, 1.0)
    return float(np.mean(1.0 - closest))


def should_continue(
    novelty_value: float, round_index: int, *, min_novelty: float = 0.15, max_rounds: int = 3
) -> bool:
    """Whether to run another scenario self-ask round.

    novelty_value: `novelty` of the round just finished; round_index: how many rounds have run
    so far; min_novelty: the least novelty worth another round; max_rounds: the hard cap on
    rounds. True while novelty_value >= min_novelty and round_index < max_rounds; a NaN
    novelty stops.
    """
    if round_index < 0:
        raise ValueError(f"round_index must be >= 0, got {round_index}")
    return round_index < max_rounds and novelty_value >= min_novelty


@dataclass(frozen=True)
class QuestionCluster:
    """Proposed questions that ask the same thing.

    representative: the member closest to the cluster's centroid (proposals weighted by how
    often they were made); size: how many proposals the cluster holds, repeats included;
    members: its distinct questions, most often proposed first (ties alphabetical).
    """

    representative: str
    size: int
    members: tuple[str, ...]


def _average_linkage(sim: np.ndarray, weights: np.ndarray, threshold: float) -> list[list[int]]:
    """Agglomerative clusters of items under average linkage on a similarity matrix.

    sim: (n, n) pairwise cosines; weights: how many proposals each item stands for. Merges the
    two most similar clusters while their mean pairwise similarity (over proposals) is at least
    `threshold`; ties go to the pair that comes first in item order.
    """
    n = len(weights)
    link = sim.astype(np.float64, copy=True)
    np.fill_diagonal(link, -np.inf)
    size = weights.astype(np.float64, copy=True)
    groups: list[list[int]] = [[i] for i in range(n)]
    alive = np.ones(n, dtype=bool)
    while alive.sum() > 1:
        flat = int(np.argmax(link))
        a, b = divmod(flat, n)
        if link[a, b] < threshold:
            break
        a, b = min(a, b), max(a, b)
        merged = (size[a] * link[a] + size[b] * link[b]) / (size[a] + size[b])
        link[a, :] = merged
        link[:, a] = merged
        link[b, :] = -np.inf
        link[:, b] = -np.inf
        link[a, a] = -np.inf
        size[a] += size[b]
        alive[b] = False
        groups[a].extend(groups[b])
        groups[b] = []
    return [sorted(g) for g, live in zip(groups, alive, strict=True) if live]


def cluster_questions(
    questions: Sequence[str], encoder: Encoder, k: int, threshold: float = 0.5
) -> list[QuestionCluster]:
    """The `k` most frequently proposed questions, as clusters of near-duplicates.

    questions: open questions an LLM proposed over many images, repeats included (each
    proposal counts once toward its cluster's size; surrounding whitespace is ignored, blank
    ones are dropped). encoder: gives the vectors compared by cosine. k: how many clusters to
    return (fewer if there are fewer). threshold: the least average pairwise cosine at which
    two clusters are merged (average-linkage agglomerative clustering over proposals). With
    all-MiniLM-L6-v2, paraphrases of one topic merge at about 0.53 and above, and close but
    different topics ("facial expression" / "body language") at about 0.50 and below: see
    tests/test_cfsa_similarity.py. Clusters come largest first, ties ordered by representative
    text. The result depends only on the multiset of proposals, not on their order.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    counts: dict[str, int] = {}
    for question in questions:
        text = question.strip()
        if text:
            counts[text] = counts.get(text, 0) + 1
    if not counts:
        return []
    texts = sorted(counts)  # a fixed order, so merge ties do not depend on proposal order
    weights = np.array([counts[t] for t in texts], dtype=np.float64)
    unit = _unit_rows(encoder.encode(texts), len(texts))
    clusters = []
    for group in _average_linkage(unit @ unit.T, weights, threshold):
        centroid = (weights[group, None] * unit[group]).sum(axis=0)
        scores = {texts[i]: round(float(unit[i] @ centroid), 9) for i in group}
        members = sorted(scores, key=lambda t: (-counts[t], t))
        clusters.append(
            QuestionCluster(
                representative=max(members, key=lambda t: scores[t]),  # first of equals
                size=int(weights[group].sum()),
                members=tuple(members),
            )
        )
    clusters.sort(key=lambda c: (-c.size, c.representative))
    return clusters[:k]
