"""The offline semantic judge: does an answer cover each ground-truth trigger?

Method ("word-recall-v2"), chosen by 5-fold cross-validation over the 84 answers of
tests/data/semantic_labels.jsonl (benchmarks/semantic_cv.py):

1. The answer is split into sentences (pysbd). Every sentence and every trigger is run through
   the encoder once; word pieces are pooled into words, giving one contextual vector per word.
2. Stop words, hedges ("maybe", "possibly") and single letters are dropped on both sides.
3. A trigger's score is the weighted mean, over its content words, of the best cosine between
   that word and any content word of the answer (a recall-oriented BERTScore). Contextual word
   vectors match paraphrases ("tears" for "crying", "café" for "coffee shop") that whole
   sentence cosines miss, and a trigger needs most of its words echoed to pass.
   Each word weighs sqrt(idf), its inverse document frequency over the 7,422 ground-truth
   triggers of EI_Basic (TRIGGER_DF): stock trigger words ("expression", "sense", "event",
   "personal", "atmosphere") count less than the specific ones ("chainsaw", "river"). v1
   weighed all words alike; the weights raise the cross-validated kappa from 0.60 to 0.65.
4. Covered when the score reaches `threshold` (0.43, fitted on the tune fold; the same value
   is fitted on all 84 answers).
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

from eibench.embed.disk_cache import WordVectors
from eibench.embed.encoder import WordEncoder
from eibench.embed.sentences import clause_spans, split_clauses, split_sentences
from eibench.records.verdict import TriggerEvidence, Verdict

METHOD = "word-recall-v2"
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

IDF_VERSION = "basic-7422-v1"
IDF_DOCS = 7422  # ground-truth triggers of EI_Basic the document frequencies are counted over
IDF_MIN_DF = 20  # content words in at least this many triggers are listed; others are rare
# Document frequencies (triggers containing the word, as the encoder's word forms) of the
# content words found in at least IDF_MIN_DF of the EI_Basic triggers. Generated once from
# the release; a word not listed weighs as if it occurred in IDF_MIN_DF triggers.
# fmt: off
_TRIGGER_DF_TEXT = (
    "expression:426 personal:396 event:382 sense:368 body:313 conversation:306 language:304 "
    "atmosphere:281 facial:243 interaction:199 situation:180 excitement:179 woman:174 "
    "performance:168 environment:159 positive:154 setting:151 feeling:142 relaxed:139 "
    "disagreement:133 emotional:132 connection:131 recent:129 others:128 person:126 "
    "frustration:124 man:122 contemplative:116 posture:110 lack:108 moment:104 loss:102 "
    "shared:102 holding:100 concern:98 experience:98 presence:96 enjoyment:95 audience:92 "
    "something:90 activity:89 related:89 issue:88 joyful:87 celebration:85 joy:80 "
    "contemplation:78 accomplishment:76 smiling:76 distress:75 enjoying:75 engagement:74 "
    "game:74 work:72 music:71 crowd:68 hand:67 conflict:66 focus:65 room:65 stress:65 "
    "focused:64 introspection:64 news:64 serious:63 energy:62 face:62 issues:62 natural:62 "
    "sad:62 nature:61 state:61 weather:61 gaze:60 unexpected:60 desire:58 life:58 water:58 "
    "confidence:57 passion:57 pleasant:57 sitting:57 alone:56 colorful:56 experiences:56 "
    "solitude:56 thought:56 unpleasant:56 phone:55 comfortable:54 enthusiasm:54 attire:53 "
    "deep:53 somber:53 control:52 disappointment:52 isolation:52 social:52 topic:52 festive:51 "
    "intense:51 someone:51 surroundings:51 background:50 physical:50 upset:50 context:49 "
    "engaged:49 pride:49 challenge:48 head:48 open:48 professional:47 concentration:46 "
    "content:46 difficult:46 gathering:46 looking:46 reaction:46 anger:45 emotions:45 "
    "concerned:44 costume:44 cultural:44 specific:44 discomfort:43 events:43 happiness:43 "
    "parade:43 indicating:42 playing:42 tense:42 thrill:42 annoyance:41 casual:41 adrenaline:40 "
    "reflection:40 stage:40 suggesting:40 expressive:39 freedom:39 mood:39 surprise:39 "
    "adventure:38 arms:38 beauty:38 energetic:38 group:38 riding:38 community:37 high:37 "
    "introspective:37 standing:37 achievement:36 hands:36 interest:36 level:36 performing:36 "
    "problem:36 public:36 outdoor:35 overwhelmed:35 red:35 skill:35 fun:34 kitchen:34 "
    "camaraderie:33 confident:33 discussion:33 furrowed:33 passionate:33 anticipation:32 "
    "challenging:32 lively:32 off:32 relaxation:32 rush:32 support:32 ball:31 comfort:31 "
    "engaging:31 formal:31 response:31 sport:31 strong:31 causing:30 factors:30 through:30 "
    "vibrant:30 call:29 celebratory:29 concerns:29 demeanor:29 health:29 love:29 playful:29 "
    "smile:29 stressful:29 time:29 between:28 caused:28 overall:28 relationship:28 tension:28 "
    "wave:28 camera:27 circumstances:27 closed:27 hat:27 lighting:27 receiving:27 singing:27 "
    "slight:27 task:27 unclear:27 uncomfortable:27 uplifting:27 determination:26 during:26 "
    "friendly:26 guitar:26 intensity:26 outfit:26 participating:26 people:26 around:25 bad:25 "
    "belonging:25 dynamic:25 occasion:25 song:25 worry:25 disheartened:24 outcome:24 "
    "participation:24 pressure:24 dissatisfaction:23 landscape:23 mouth:23 paper:23 play:23 "
    "problems:23 rainbow:23 significance:23 unique:23 attention:22 good:22 grief:22 "
    "uncertainty:22 well:22 amusement:21 balance:21 company:21 flag:21 friends:21 frown:21 "
    "mountain:21 navigating:21 negative:21 raised:21 satisfaction:21 self:21 special:21 "
    "active:20 among:20 challenges:20 competitive:20 decision:20 enjoyable:20 enthusiastic:20 "
    "expectations:20 express:20 eyebrows:20 gesture:20 laptop:20 melancholy:20 "
    "misunderstanding:20 noise:20 past:20 successful:20 taking:20 thoughtful:20"
)
# fmt: on
TRIGGER_DF: dict[str, int] = {
    word: int(count) for word, count in (item.split(":") for item in _TRIGGER_DF_TEXT.split())
}


def word_weight(word: str) -> float:
    """sqrt(idf) of a trigger word over the EI_Basic triggers (see TRIGGER_DF)."""
    df = TRIGGER_DF.get(word, IDF_MIN_DF)
    return float(np.sqrt(np.log((IDF_DOCS + 1) / (df + 1))))


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


def _evidence(
    segment: WordVectors, best: np.ndarray, rows: np.ndarray, weights: np.ndarray, score: float
) -> str:
    """The segment, or its clause that carries most of `score` (best: word-by-segment sims)."""
    starts = [segment.spans[i][0] for i in rows]
    text = segment.text
    top_text, top = text, -1.0
    for a, b in clause_spans(text):
        cols = [k for k, s in enumerate(starts) if a <= s < b]
        if cols:
            value = float(best[:, cols].max(axis=1) @ weights)
            if value > top:
                top, top_text = value, text[a:b].strip(_TRIM)
    return top_text if top >= CLAUSE_SHARE * score and top_text else text


def score_triggers(
    segments: Sequence[WordVectors],
    triggers: Sequence[WordVectors],
    weight: Callable[[str], float] = word_weight,
) -> list[TriggerScore]:
    """Score every trigger against the answer's segments (pure; see the module doc).

    weight: the weight of a trigger word (sqrt(idf) by default; `lambda w: 1.0` gives v1).
    """
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
        weights = np.array([weight(trig.words[i]) for i in rows], dtype=np.float64)
        weights = (
            weights / weights.sum() if weights.sum() > 0 else np.full(len(rows), 1 / len(rows))
        )
        sims = trig.vectors[rows] @ answer.T  # trigger words x answer words
        score = float(sims.max(axis=1) @ weights)
        per_segment = []
        for j in range(len(segments)):
            cols = owner == j
            per_segment.append(float(sims[:, cols].max(axis=1) @ weights) if cols.any() else 0.0)
        j = int(np.argmax(per_segment))
        cols = np.flatnonzero(owner == j)
        evidence = _evidence(segments[j], sims[:, cols], seg_rows[j], weights, per_segment[j])
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


@dataclass(frozen=True)
class Pair:
    """One answer and its triggers as the judge reads them: the answer's text, its sentences'
    and the triggers' word vectors, and the texts that were encoded."""

    answer: str
    segments: list[WordVectors]
    triggers: list[WordVectors]
    segment_texts: list[str]
    trigger_forms: list[str]


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
        self.match_threshold = self.threshold  # a sentence states a trigger at this score
        self.max_unmatched = max_unmatched
        self.name = f"semantic:{encoder.name}"
        self.config: dict[str, object] = {
            "method": METHOD,
            "encoder": encoder.name,
            "threshold": self.threshold,
            "stopwords": STOPWORDS_VERSION,
            "word_weights": f"sqrt-idf:{IDF_VERSION}",
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
            for (answer, _), segs, fs in zip(chunk, segments, forms, strict=True):
                pair = Pair(
                    answer, [seg_vectors[s] for s in segs], [trig_vectors[f] for f in fs], segs, fs
                )
                verdicts.append(self._verdict(pair))
            if progress is not None:
                progress(len(chunk))
        return verdicts

    def _encode(self, texts: list[str], persist: bool) -> dict[str, WordVectors]:
        unique = list(dict.fromkeys(texts))
        return dict(zip(unique, self.encoder.encode_words(unique, persist=persist), strict=True))

    def decide(self, pair: Pair, scores: list[TriggerScore]) -> list[float]:
        """Each trigger's score that `threshold` reads: here its word-recall score."""
        return [s.score for s in scores]

    def _verdict(self, pair: Pair) -> Verdict:
        segments = pair.segments
        scores = score_triggers(segments, pair.triggers)
        evidence = tuple(
            TriggerEvidence(
                index=i, covered=value >= self.threshold, evidence=s.evidence,
                score=round(value, 4),
            )
            for i, (s, value) in enumerate(zip(scores, self.decide(pair, scores), strict=True), 1)
        )  # fmt: skip
        precision: float | None = None
        unmatched: list[str] = []
        if segments:
            matched = [
                any(s.segment_scores[j] >= self.match_threshold for s in scores)
                for j in range(len(segments))
            ]
            precision = sum(matched) / len(segments)
            unmatched = [seg.text for seg, ok in zip(segments, matched, strict=True) if not ok]
        return Verdict(
            correct=sum(e.covered for e in evidence),
            total=len(pair.triggers),
            precision=precision,
            unsupported_rate=None if precision is None else 1.0 - precision,
            triggers=evidence,
            unmatched_claims=tuple(unmatched[: self.max_unmatched]),
        )
