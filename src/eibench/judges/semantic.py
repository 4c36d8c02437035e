"""The offline semantic judge: does an answer cover each ground-truth trigger?

Method ("word-recall-v1"), chosen on the "tune" fold of tests/data/semantic_labels.jsonl:

1. The answer is split into sentences (pysbd). Every sentence and every trigger is run through
   the encoder once; word pieces are pooled into words, giving one contextual vector per word.
2. Stop words, hedges ("maybe", "possibly") and single letters are dropped on both sides.
3. A trigger's score is the mean, over its content words, of the best cosine between that
   word and any content word of the answer (a recall-oriented BERTScore). Contextual word
   vectors match paraphrases ("tears" for "crying", "café" for "coffee shop") that whole
   sentence cosines miss, and a trigger needs most of its words echoed to pass.
4. Covered when the score reaches `threshold` (0.43, fitted on the tune fold).
5. Evidence: the sentence with the best score for the trigger when scored alone, narrowed to
   one clause when that clause carries at least 90% of the sentence's score.
6. Precision: the share of the answer's sentences whose own score for some trigger reaches
   the threshold; the others are the unmatched claims.

Against the held-out "test" fold it is more accurate than a threshold on MiniLM sentence
cosines (see tests/test_semantic_judge.py for the figures). Scoring is pure numpy and
deterministic; the encoder's memo makes a re-judge of the same texts free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from eibench.embed.encoder import WordEncoder, WordVectors
from eibench.embed.sentences import clause_spans, split_clauses, split_sentences
from eibench.judges.verdict import TriggerEvidence, Verdict

METHOD = "word-recall-v1"
DEFAULT_THRESHOLD = 0.43
CLAUSE_SHARE = 0.9  # a clause becomes the evidence when it carries this share of the score
MAX_SEGMENT_WORDS = 120  # longer "sentences" (run-ons) are cut at clause bounds
CHUNK_ITEMS = 256  # answers encoded per encoder call (progress is reported per chunk)
_TRIM = " ,;:-\u2013\u2014"

STOPWORDS_VERSION = "1"
# Function words and hedges: never evidence of a trigger.
# fmt: off
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "nor", "of", "in", "on", "at", "to", "for", "with", "by",
    "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this",
    "that", "these", "those", "his", "her", "hers", "their", "theirs", "he", "she", "they",
    "him", "them", "i", "you", "we", "our", "your", "my", "me", "us", "there", "here", "which",
    "who", "whom", "whose", "what", "when", "where", "while", "because", "possibly", "maybe",
    "perhaps", "possible", "potential", "potentially", "likely", "could", "might", "may", "can",
    "would", "should", "will", "also", "very", "so", "such", "some", "any", "other", "another",
    "more", "most", "than", "then", "into", "over", "about", "up", "down", "out", "not", "no",
    "own", "same", "just", "only", "both", "each", "few", "all", "having", "has", "have", "had",
    "do", "does", "did", "due", "like", "s", "t"
})
# fmt: on


@dataclass(frozen=True)
class TriggerScore:
    """How well one trigger is matched: overall score and best evidence."""

    score: float
    evidence: str | None
    segment_scores: tuple[float, ...]


def content_rows(wv: WordVectors, keep_all: bool = False) -> np.ndarray:
    """Indices of the content words of `wv` (all words when none is a content word)."""
    idx = [i for i, w in enumerate(wv.words) if len(w) > 1 and w not in STOPWORDS]
    if not idx and keep_all:
        idx = list(range(len(wv.words)))
    return np.array(idx, dtype=int)


def trigger_form(trigger: str) -> str:
    """The text encoded for a trigger: trimmed, without its final period."""
    return trigger.strip().rstrip(".").strip()


def _evidence(segment: WordVectors, best: np.ndarray, rows: np.ndarray, score: float) -> str:
    """The segment, or its clause that carries most of `score` (best: word-by-segment sims)."""
    starts = [segment.spans[i][0] for i in rows]
    text = segment.text
    top_text, top = text, -1.0
    for a, b in clause_spans(text):
        cols = [k for k, s in enumerate(starts) if a <= s < b]
        if cols:
            value = float(best[:, cols].max(axis=1).mean())
            if value > top:
                top, top_text = value, text[a:b].strip(_TRIM)
    return top_text if top >= CLAUSE_SHARE * score and top_text else text


def score_triggers(
    segments: Sequence[WordVectors], triggers: Sequence[WordVectors]
) -> list[TriggerScore]:
    """Score every trigger against the answer's segments (pure; see the module doc)."""
    seg_rows = [content_rows(s) for s in segments]
    blocks = [s.vectors[r] for s, r in zip(segments, seg_rows, strict=True) if len(r)]
    owners = [i for i, r in enumerate(seg_rows) for _ in r]
    answer = np.concatenate(blocks) if blocks else np.zeros((0, 1), dtype=np.float32)
    owner = np.array(owners, dtype=int)
    results: list[TriggerScore] = []
    for trig in triggers:
        rows = content_rows(trig, keep_all=True)
        if not len(rows) or not len(answer):
            results.append(TriggerScore(0.0, None, tuple(0.0 for _ in segments)))
            continue
        sims = trig.vectors[rows] @ answer.T  # trigger words x answer words
        score = float(sims.max(axis=1).mean())
        per_segment = []
        for j in range(len(segments)):
            cols = owner == j
            per_segment.append(float(sims[:, cols].max(axis=1).mean()) if cols.any() else 0.0)
        j = int(np.argmax(per_segment))
        cols = np.flatnonzero(owner == j)
        evidence = _evidence(segments[j], sims[:, cols], seg_rows[j], per_segment[j])
        results.append(TriggerScore(score, evidence, tuple(per_segment)))
    return results


def answer_segments(answer: str) -> list[str]:
    """The answer's sentences, with run-on sentences cut at clause bounds."""
    out: list[str] = []
    for sentence in split_sentences(answer):
        if len(sentence.split()) <= MAX_SEGMENT_WORDS:
            out.append(sentence)
            continue
        chunk: list[str] = []
        for clause in split_clauses(sentence):
            if chunk and len(" ".join([*chunk, clause]).split()) > MAX_SEGMENT_WORDS:
                out.append(" ".join(chunk))
                chunk = []
            chunk.append(clause)
        if chunk:
            out.append(" ".join(chunk))
    return out


class SemanticJudge:
    """Judges answers offline with contextual word matching (see the module doc).

    encoder: a word encoder from `eibench.embed.load_encoder`; threshold: the score at which a
    trigger counts as covered (default 0.43, fitted for all-MiniLM-L6-v2; refit for another
    encoder); max_unmatched: how many unmatched answer sentences a verdict lists.
    """

    def __init__(
        self,
        encoder: WordEncoder,
        threshold: float | None = None,
        *,
        max_unmatched: int = 10,
    ) -> None:
        self.encoder = encoder
        self.threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        self.max_unmatched = max_unmatched
        self.name = f"semantic:{encoder.name}"
        self.config: dict[str, object] = {
            "method": METHOD,
            "encoder": encoder.name,
            "threshold": self.threshold,
            "stopwords": STOPWORDS_VERSION,
            "segmenter": "pysbd",
            "max_segment_words": MAX_SEGMENT_WORDS,
            "clause_share": CLAUSE_SHARE,
            "max_unmatched": max_unmatched,
        }

    def judge(self, answer: str, triggers: Sequence[str]) -> Verdict:
        """One answer against its ground-truth triggers."""
        return self.judge_many([(answer, triggers)])[0]

    def judge_many(
        self,
        items: Sequence[tuple[str, Sequence[str]]],
        progress: Callable[[int], None] | None = None,
    ) -> list[Verdict]:
        """Verdicts for (answer, ground-truth triggers) pairs, in order.

        Segments of up to CHUNK_ITEMS answers are encoded per encoder call (each distinct
        string once); ground-truth triggers go through the encoder's persistent cache.
        progress(k) is called as k more items are done.
        """
        verdicts: list[Verdict] = []
        for start in range(0, len(items), CHUNK_ITEMS):
            chunk = items[start : start + CHUNK_ITEMS]
            segments = [answer_segments(answer) for answer, _ in chunk]
            forms = [[trigger_form(t) for t in triggers] for _, triggers in chunk]
            seg_vectors = self._encode([s for segs in segments for s in segs], False)
            trig_vectors = self._encode([f for fs in forms for f in fs], True)
            for segs, fs in zip(segments, forms, strict=True):
                verdicts.append(
                    self._verdict(
                        [seg_vectors[s] for s in segs],
                        [trig_vectors[f] for f in fs],
                    )
                )
            if progress is not None:
                progress(len(chunk))
        return verdicts

    def _encode(self, texts: list[str], persist: bool) -> dict[str, WordVectors]:
        unique = list(dict.fromkeys(texts))
        return dict(zip(unique, self.encoder.encode_words(unique, persist=persist), strict=True))

    def _verdict(self, segments: list[WordVectors], triggers: list[WordVectors]) -> Verdict:
        scores = score_triggers(segments, triggers)
        evidence = tuple(
            TriggerEvidence(
                index=i,
                covered=s.score >= self.threshold,
                evidence=s.evidence,
                score=round(s.score, 4),
            )
            for i, s in enumerate(scores, start=1)
        )
        precision: float | None = None
        unmatched: list[str] = []
        if segments:
            matched = [
                any(s.segment_scores[j] >= self.threshold for s in scores)
                for j in range(len(segments))
            ]
            precision = sum(matched) / len(segments)
            unmatched = [seg.text for seg, ok in zip(segments, matched, strict=True) if not ok]
        return Verdict(
            correct=sum(e.covered for e in evidence),
            total=len(triggers),
            precision=precision,
            unsupported_rate=None if precision is None else 1.0 - precision,
            triggers=evidence,
            unmatched_claims=tuple(unmatched[: self.max_unmatched]),
        )
