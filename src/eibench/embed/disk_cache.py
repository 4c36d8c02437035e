"""The embedding disk cache: a text's sentence vector and contextual word vectors, kept in one
SQLite file per encoder, keyed by a hash of the text."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class WordVectors:
    """The words of one text with their contextual vectors.

    words: lower-cased word forms (alphabetic words only, word pieces pooled); spans: their
    character ranges in `text`; vectors: (len(words), d) float32, L2-normalised rows (rounded
    to float16 precision for texts kept in the disk cache).
    """

    text: str
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray


class DiskCache:
    """Embeddings of texts on disk: one SQLite file per encoder, keyed by a text hash.

    Every write is one transaction, so a reader never sees a half-written entry.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, sentence BLOB, "
                "words TEXT, vectors BLOB)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, texts: Sequence[str]) -> dict[str, tuple[np.ndarray, WordVectors]]:
        found: dict[str, tuple[np.ndarray, WordVectors]] = {}
        by_key = {self.key(t): t for t in texts}
        keys = list(by_key)
        with self._connect() as db:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT key, sentence, words, vectors FROM emb WHERE key IN ({marks})", chunk
                )
                for key, sentence, words_json, vectors in rows:
                    text = by_key[key]
                    meta = json.loads(words_json)
                    sent = np.frombuffer(sentence, dtype=np.float32).copy()
                    vecs = np.frombuffer(vectors, dtype=np.float16).astype(np.float32)
                    vecs = vecs.reshape(len(meta["words"]), sent.shape[0])
                    spans = tuple((int(a), int(b)) for a, b in meta["spans"])
                    found[text] = (sent, WordVectors(text, tuple(meta["words"]), spans, vecs))
        return found

    def put(self, entries: Sequence[tuple[np.ndarray, WordVectors]]) -> None:
        rows = [
            (
                self.key(wv.text),
                np.asarray(sent, dtype=np.float32).tobytes(),
                json.dumps({"words": list(wv.words), "spans": [list(s) for s in wv.spans]}),
                wv.vectors.astype(np.float16).tobytes(),
            )
            for sent, wv in entries
        ]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?, ?)", rows)


def as_stored(wv: WordVectors) -> WordVectors:
    """`wv` with its vectors rounded to float16, exactly as the disk cache keeps them."""
    vectors = wv.vectors.astype(np.float16).astype(np.float32)
    return WordVectors(wv.text, wv.words, wv.spans, vectors)
