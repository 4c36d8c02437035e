"""Sentence splitting and embeddings shared by the semantic judge and the coherence metric."""

from eibench.embed.disk_cache import WordVectors
from eibench.embed.encoder import Encoder, WordEncoder, load_encoder, preload
from eibench.embed.sentences import sentence_splitter, split_clauses, split_sentences

__all__ = [
    "Encoder",
    "WordEncoder",
    "WordVectors",
    "load_encoder",
    "preload",
    "sentence_splitter",
    "split_clauses",
    "split_sentences",
]
