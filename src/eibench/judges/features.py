"""Per-trigger features of the learned offline judge: cheap signals read off the contextual word
vectors that the word-recall judge already computes (no extra encoder pass).

For each (answer, trigger) pair, `trigger_features` returns one row of FEATURES:
- the word-recall score of `eibench.judges.semantic` (sqrt-idf weighted best cosines), and the
  same score over affirmed words only: words outside a clause with a negation cue, or outside
  the few words after one, and outside a clause about another person;
- the weighted share of the trigger's words whose best match lies in a denied clause, after a
  nearby negation, or in another person's clause;
- how much the match relies on more than one sentence (score minus the best single sentence);
- sentence-level cosines: the trigger's sentence vector against each sentence's, and against
  each clause's (its word vectors mean-pooled, as MiniLM pools a sentence);
- the worst-matched trigger word, the weighted share of weakly matched words, the share of
  trigger words found verbatim (five-letter stems);
- the trigger's length, the answer's length in sentences and characters;
- the trigger's score and clause cosine against the mean and the best of the answer's other
  triggers (a cause the answer is about stands out from the rest of the list).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eibench.embed.disk_cache import WordVectors
from eibench.embed.sentences import clause_spans
from eibench.judges.semantic import content_rows, word_weight

FEATURES_VERSION = "1"
FEATURES = (
    "score", "score_affirmed", "score_not_near_negation", "denied_share", "other_share",
    "near_negation_share", "spread", "cos_sentence", "cos_clause", "min_word", "weak_share",
    "lexical", "trigger_words", "sentences", "score_vs_mean", "score_vs_best",
    "cos_clause_vs_mean", "cos_clause_vs_best", "answer_kchars",
)  # fmt: skip
WEAK = 0.5  # a trigger word whose best cosine is under this is weakly matched
NEAR_CHARS = 45  # a negation cue this close before a word (same clause) is near it
STEM = 5

_NEGATION = re.compile(
    r"\b(?:not|no|never|nothing|nobody|none|neither|nor|without|unlikely|hardly|barely|"
    r"rather than|instead of|cannot|nowhere|absent|lacks?)\b|n['\u2019]t\b",
    re.IGNORECASE,
)
_PERSON = (
    r"(?:man|woman|men|women|boy|girl|person|people|child|children|kids?|guy|lady|friends?|"
    r"others|someone|somebody|crowd|players?|couple|teammates?|partner|stranger|figure|"
    r"individuals?|companion|baby|mother|father|coach|audience|spectators?)"
)
_OTHER_PERSON = re.compile(
    rf"\b(?:the|a|an|another|other|his|her|their)\s+(?:\w+\s+)?{_PERSON}\s+(?:next to|beside|"
    r"behind|across|near|nearby|in front|around|in the background|at the|on the|sitting|"
    r"standing|to (?:her|his|their) (?:left|right))|\b(?:another|other|others|someone else|"
    r"everyone else|by contrast|whereas|unlike)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AnswerWords:
    """An answer's content words, stacked, with where each sits and its cues."""

    vectors: np.ndarray  # (n_words, d)
    stems: frozenset[str]
    owner: np.ndarray  # sentence index of each word
    denied: np.ndarray  # in a clause with a negation cue
    near_negation: np.ndarray  # a negation cue just before it, same clause
    other: np.ndarray  # in a clause about another person
    clauses: np.ndarray  # (n_clauses, d) mean-pooled clause vectors
    sentences: int


def _word_cues(wv: WordVectors, rows: np.ndarray) -> tuple[list[bool], list[bool], list[bool]]:
    text = wv.text
    spans = clause_spans(text)
    cues = [m.start() for m in _NEGATION.finditer(text)]
    denied, near, other = [], [], []
    for i in rows:
        start = wv.spans[i][0]
        a, b = next(((a, b) for a, b in spans if a <= start < b), (0, len(text)))
        clause = text[a:b]
        denied.append(bool(_NEGATION.search(clause)))
        near.append(any(a <= p < start and start - p < NEAR_CHARS for p in cues))
        other.append(bool(_OTHER_PERSON.search(clause)))
    return denied, near, other


def _clause_vectors(wv: WordVectors) -> list[np.ndarray]:
    out = []
    for a, b in clause_spans(wv.text):
        idx = [i for i, (s, _) in enumerate(wv.spans) if a <= s < b]
        if idx:
            v = wv.vectors[idx].astype(np.float64).mean(axis=0)
            out.append(v / (np.linalg.norm(v) or 1.0))
    return out


def answer_words(segments: Sequence[WordVectors]) -> AnswerWords:
    """The content words of an answer's sentences (see AnswerWords)."""
    vectors: list[np.ndarray] = []
    clauses: list[np.ndarray] = []
    owner: list[int] = []
    denied: list[bool] = []
    near: list[bool] = []
    other: list[bool] = []
    stems: set[str] = set()
    for j, wv in enumerate(segments):
        rows = content_rows(wv)
        cues = _word_cues(wv, rows)
        vectors.extend(wv.vectors[i] for i in rows)
        stems.update(wv.words[i][:STEM] for i in rows)
        owner.extend([j] * len(rows))
        for into, values in zip((denied, near, other), cues, strict=True):
            into.extend(values)
        clauses.extend(_clause_vectors(wv))
    d = segments[0].vectors.shape[1] if segments else 1
    return AnswerWords(
        vectors=np.stack(vectors) if vectors else np.zeros((0, d), dtype=np.float32),
        stems=frozenset(stems), owner=np.array(owner, dtype=int),
        denied=np.array(denied, dtype=bool), near_negation=np.array(near, dtype=bool),
        other=np.array(other, dtype=bool),
        clauses=np.stack(clauses) if clauses else np.zeros((0, d)), sentences=len(segments),
    )  # fmt: skip


def _masked(sims: np.ndarray, mask: np.ndarray, weights: np.ndarray) -> float:
    return float(sims[:, mask].max(axis=1) @ weights) if mask.any() else 0.0


def _one(words: AnswerWords, trig: WordVectors, sentence: np.ndarray, kchars: float) -> list[float]:
    rows = content_rows(trig, keep_all=True)
    n = len(rows)
    if not n or not len(words.vectors):
        return [0.0] * len(FEATURES)
    w = np.array([word_weight(trig.words[i]) for i in rows], dtype=np.float64)
    w = w / w.sum() if w.sum() > 0 else np.full(n, 1 / n)
    sims = trig.vectors[rows] @ words.vectors.T
    best, where = sims.max(axis=1), sims.argmax(axis=1)
    score = float(best @ w)
    per_sentence = [_masked(sims, words.owner == j, w) for j in range(words.sentences)]
    found = np.array([trig.words[i][:STEM] in words.stems for i in rows], dtype=np.float64)
    cos_clause = float((words.clauses @ sentence).max()) if len(words.clauses) else 0.0
    return [
        score,
        _masked(sims, ~(words.denied | words.other), w),
        _masked(sims, ~(words.near_negation | words.other), w),
        float(words.denied[where] @ w), float(words.other[where] @ w),
        float(words.near_negation[where] @ w), score - max(per_sentence),
        0.0, cos_clause, float(best.min()), float((best < WEAK) @ w), float(found @ w),
        float(np.log1p(n)), float(np.log1p(words.sentences)), 0.0, 0.0, 0.0, 0.0, kchars,
    ]  # fmt: skip


def trigger_features(
    segments: Sequence[WordVectors],
    sentence_vectors: np.ndarray,
    triggers: Sequence[WordVectors],
    trigger_vectors: np.ndarray,
    answer_chars: int,
) -> np.ndarray:
    """(len(triggers), len(FEATURES)) features of one answer's triggers (see the module doc).

    segments / sentence_vectors: the answer's sentences' word vectors and sentence vectors;
    triggers / trigger_vectors: the same for its ground-truth triggers."""
    words = answer_words(segments)
    kchars = answer_chars / 1000
    rows = [_one(words, t, v, kchars) for t, v in zip(triggers, trigger_vectors, strict=True)]
    x = np.array(rows, dtype=np.float64).reshape(len(triggers), len(FEATURES))
    if len(triggers) and len(sentence_vectors):
        x[:, FEATURES.index("cos_sentence")] = (sentence_vectors @ trigger_vectors.T).max(axis=0)
    for name, base in (("score", "score_vs"), ("cos_clause", "cos_clause_vs")):
        column = x[:, FEATURES.index(name)]
        if len(column):
            x[:, FEATURES.index(f"{base}_mean")] = column - column.mean()
            x[:, FEATURES.index(f"{base}_best")] = column - column.max()
    return x
