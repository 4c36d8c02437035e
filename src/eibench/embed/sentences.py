"""Split answers into sentences and sentences into clauses, deterministically.

The semantic judge and the coherence metric both embed the strings returned by
`split_sentences`, so one answer's sentences are encoded once and shared.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from typing import Any

from eibench.errors import EIBenchError

SPLITTERS = ("pysbd", "spacy", "auto")

# List markers and markdown that VLM answers wrap around their sentences.
_BULLET = re.compile(r"^\s*(?:[-*•>]+|#{1,6}|\(?\d{1,2}[.)]|\(?[a-zA-Z][.)](?=\s))(?:\s+|$)")
_MARKUP = re.compile(r"\*\*|__|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)|`")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w")

# Where a sentence may be cut into clauses: ; : dashes, commas, and a word that opens a
# subordinate clause ("and" / "or" join noun phrases too often to cut there).
_OPENERS = (
    "because|which|while|whereas|as if|as though|since|so that|suggesting|showing|"
    "indicating|but|where|who|perhaps|possibly"
)
_DASHES = "-\u2013\u2014"
_CLAUSE_CUT = re.compile(rf"[;:]\s+|\s+[{_DASHES}]{{1,2}}\s+|,\s+|\s+(?=(?:{_OPENERS})\b)", re.I)


class _Splitter:
    """A named sentence splitter (the name is recorded with judge results)."""

    def __init__(self, name: str, segment: Callable[[str], list[str]]) -> None:
        self.name = name
        self._segment = segment

    def __call__(self, text: str) -> list[str]:
        sentences: list[str] = []
        for line in text.splitlines():
            line = _BULLET.sub("", line)
            if not _WORD.search(line):
                continue
            for piece in self._segment(line):
                cleaned = _clean(piece)
                if cleaned:
                    sentences.append(cleaned)
        return sentences


def _clean(piece: str) -> str:
    """Drop list numbering and markdown emphasis, collapse whitespace; '' if no word left."""
    piece = _MARKUP.sub("", _BULLET.sub("", piece))
    piece = _SPACE.sub(" ", piece).strip()
    return piece if _WORD.search(piece) else ""


@functools.lru_cache(maxsize=1)
def _pysbd_segmenter() -> Any:
    try:
        import pysbd
    except ImportError as exc:
        raise EIBenchError(
            "sentence splitting needs pysbd: pip install 'eibench[semantic]'"
        ) from exc
    return pysbd.Segmenter(language="en", clean=False)


def _pysbd(line: str) -> list[str]:
    return [str(s) for s in _pysbd_segmenter().segment(line)]


@functools.lru_cache(maxsize=1)
def _spacy_pipeline() -> Any | None:
    """The first installed English spaCy model, or None."""
    try:
        import spacy  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    for model in ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf"):
        try:
            return spacy.load(model, exclude=["ner", "lemmatizer"])
        except OSError:
            continue
    return None


def _spacy(line: str) -> list[str]:
    nlp = _spacy_pipeline()
    assert nlp is not None
    return [sent.text for sent in nlp(line).sents]


def sentence_splitter(name: str = "auto") -> Callable[[str], list[str]]:
    """A sentence splitter by name.

    name: "pysbd" (rule-based, always available with the semantic extra), "spacy" (the
    paper's choice; needs spaCy and an installed English model such as en_core_web_sm), or
    "auto" (spacy when an English model is installed, else pysbd). The returned callable has
    a `name` attribute with the splitter actually used.
    """
    if name not in SPLITTERS:
        raise EIBenchError(f"unknown sentence splitter {name!r}: use one of {', '.join(SPLITTERS)}")
    if name in ("spacy", "auto") and _spacy_pipeline() is not None:
        return _Splitter("spacy", _spacy)
    if name == "spacy":
        raise EIBenchError(
            "the spacy splitter needs spaCy and an English model: "
            "pip install spacy && python -m spacy download en_core_web_sm"
        )
    _pysbd_segmenter()
    return _Splitter("pysbd", _pysbd)


def release_sentences(text: str) -> list[str]:
    """The sentences of `text` as the release's coherence script took them: spaCy's (when an
    English model is installed, as `long_term_scores.py` used en_core_web_sm), else pysbd's,
    over the raw text, uncleaned; only pieces with no word character are dropped."""
    nlp = _spacy_pipeline()
    if nlp is not None:
        pieces = [sent.text for sent in nlp(text).sents]
    else:
        pieces = [str(s) for s in _pysbd_segmenter().segment(text)]
    return [p for p in pieces if _WORD.search(p)]


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` with pysbd (English), cleaned.

    List numbering ("1.", "-", "*"), markdown emphasis ("**bold**") and extra whitespace are
    removed; pieces without a word character are dropped. Deterministic.
    """
    return list(_split_cached(text))


_PYSBD = _Splitter("pysbd", _pysbd)


@functools.lru_cache(maxsize=8192)
def _split_cached(text: str) -> tuple[str, ...]:
    """pysbd is slow; the judge and coherence split the same answers, so remember them."""
    return tuple(_PYSBD(text))


def clause_spans(sentence: str, min_words: int = 3) -> list[tuple[int, int]]:
    """Character ranges of the clauses of `sentence` (see `split_clauses`)."""
    cuts = [0, *(m.end() for m in _CLAUSE_CUT.finditer(sentence)), len(sentence)]
    spans = [(a, b) for a, b in itertools.pairwise(cuts) if sentence[a:b].strip(" ,;:.")]
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        short = len(sentence[a:b].split()) < min_words
        if merged and (short or len(sentence[merged[-1][0] : merged[-1][1]].split()) < min_words):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def split_clauses(sentence: str, min_words: int = 3) -> list[str]:
    """Finer segments of one sentence, used for the judge's evidence spans.

    The sentence is cut at ; and :, at dashes, at commas, and before words that open a
    subordinate clause (because, which, while, suggesting, ...). A piece shorter than
    `min_words` words is merged into its neighbour. The pieces are substrings of
    `sentence`, in order, trimmed of separators.
    """
    pieces = [sentence[a:b].strip(" ,;:" + _DASHES) for a, b in clause_spans(sentence, min_words)]
    return [p for p in pieces if p]
