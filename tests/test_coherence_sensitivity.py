"""Sentence splitting, encoders, long-term coherence and complex-split emotion sensitivity."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from eibench.data import load_split
from eibench.embed import load_encoder, sentence_splitter, split_clauses, split_sentences
from eibench.embed.encoder import TransformerEncoder, minilm_path
from eibench.embed.sentences import release_sentences
from eibench.errors import EIBenchError
from eibench.judges.semantic import SemanticJudge
from eibench.metrics.coherence import coherence, coherence_many, mean_coherence
from eibench.metrics.sensitivity import SensitivityItem, emotion_sensitivity


@pytest.fixture(scope="module")
def encoder() -> Iterator[TransformerEncoder]:
    enc = load_encoder()
    assert isinstance(enc, TransformerEncoder)
    yield enc


@pytest.fixture(scope="module")
def judge(encoder: TransformerEncoder) -> SemanticJudge:
    return SemanticJudge(encoder)


# --- sentence splitting ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith is angry. He lost his job.", ["Mr. Smith is angry.", "He lost his job."]),
        ("The U.S. flag waves. Dr. Lee smiles.", ["The U.S. flag waves.", "Dr. Lee smiles."]),
        (
            "1. He is frowning.\n2. The room is dark.\n3) Rain.",
            ["He is frowning.", "The room is dark.", "Rain."],
        ),
        (
            "- **Facial expression**: he frowns.\n* *Crowd* cheering\n## Summary",
            ["Facial expression: he frowns.", "Crowd cheering", "Summary"],
        ),
        ("  She   smiles\n\n  widely.  ", ["She smiles", "widely."]),
        ("", []),
        ("1.\n- \n**", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_sentence_splitters_by_name() -> None:
    assert sentence_splitter("pysbd")("A cat. A dog.") == ["A cat.", "A dog."]
    auto = sentence_splitter("auto")
    try:
        spacy_ok = sentence_splitter("spacy") is not None
    except EIBenchError as exc:
        spacy_ok = False
        assert "en_core_web_sm" in str(exc)
    assert getattr(auto, "name") == ("spacy" if spacy_ok else "pysbd")  # noqa: B009
    with pytest.raises(EIBenchError, match="unknown sentence splitter"):
        sentence_splitter("nltk")


def test_release_sentences_keep_the_raw_text() -> None:
    raw = "1. **Crowd** cheering.\n2. A goal was scored!  <s>\n\n"
    pieces = release_sentences(raw)
    assert pieces and all(p in raw for p in pieces)
    assert any("**Crowd**" in p for p in pieces) and any("<s>" in p for p in pieces)
    assert split_sentences(raw) != pieces  # the honest splitter cleans them


def test_split_clauses() -> None:
    sentence = "She is holding a drink in her hand, which suggests a celebration or a party."
    assert split_clauses(sentence) == [
        "She is holding a drink in her hand",
        "which suggests a celebration or a party.",
    ]
    assert split_clauses("Loss and grief.") == ["Loss and grief."]
    parts = split_clauses("The man frowns because it is lost; the crowd leaves and it rains")
    assert parts == ["The man frowns", "because it is lost", "the crowd leaves and it rains"]
    assert split_clauses("He frowns because it is lost") == ["He frowns because it is lost"]


# --- coherence ------------------------------------------------------------------------


def test_coherence_of_small_arrays() -> None:
    assert coherence(np.zeros((0, 3))) is None
    assert coherence(np.array([[1.0, 2.0]])) is None
    assert coherence(np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])) == pytest.approx(1.0)
    # cos([1,0],[1,1]) = cos([1,1],[0,1]) = 1/sqrt(2)
    rows = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert coherence(rows) == pytest.approx(1 / np.sqrt(2))
    assert coherence(np.array([[1.0, 0.0], [0.0, 3.0]])) == pytest.approx(0.0)
    assert coherence(np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])) == pytest.approx(-1.0)
    assert mean_coherence([None, 0.5, 1.0]) == pytest.approx(0.75)
    assert mean_coherence([None]) is None


def test_coherence_many_with_minilm(encoder: TransformerEncoder) -> None:
    answers = [
        "He is sad.",
        "He is sad. He is sad.",
        "The man frowns at the broken car. The engine will not start. He kicks the tyre.",
        "The man frowns. Bananas are rich in potassium. Jupiter has many moons.",
    ]
    one, same, related, unrelated = coherence_many(answers, encoder)
    assert one is None
    assert same == pytest.approx(1.0, abs=1e-5)
    assert related is not None and unrelated is not None
    assert -1.0 <= unrelated < related < 1.0


def test_coherence_shares_the_judges_embeddings(
    encoder: TransformerEncoder, judge: SemanticJudge
) -> None:
    answers = [
        "The woman smiles at her friend. They share a joke over coffee. The café is warm.",
        "1. **Crowd** cheering.\n2. A goal was scored.\n3. The stadium lights glow.",
    ]
    judge.judge_many([(a, ["Friendly conversation.", "Scoring a goal."]) for a in answers])
    before = encoder.encoded
    values = coherence_many(answers, encoder)
    assert encoder.encoded == before  # every sentence came from the judge's memo
    assert all(v is not None for v in values)


# --- encoders -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BERT (hidden 32) with bert-base-uncased's vocabulary."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    source = minilm_path()
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (source / name).is_file():
            shutil.copy(source / name, folder / name)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    return folder


def test_bert_cls_encoder_runs_offline(tiny_bert: Path) -> None:
    enc = load_encoder(f"bert-cls:{tiny_bert}")
    assert enc.name == f"bert-cls:{tiny_bert.name}"
    vectors = enc.encode(["A man shouts.", "A woman smiles at the crowd.", "A man shouts."])
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2])
    assert coherence_many(["A man shouts. He waves his fists."], enc)[0] is not None
    words = enc.encode_words(["Well-dressed woman's hat."])[0]
    assert words.words == ("well", "dressed", "woman", "s", "hat")
    assert words.vectors.shape == (5, 32)
    verdict = SemanticJudge(enc).judge("A man shouts.", ["A man shouts."])
    assert verdict.correct == 1  # identical text: every word matches itself


@pytest.mark.parametrize("spec", ["bert-cls:/no/such/folder", "st:/no/such/folder"])
def test_bad_encoder_path_is_one_clear_error(spec: str) -> None:
    with pytest.raises(EIBenchError, match="/no/such/folder"):
        load_encoder(spec)


def test_folder_without_a_model_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(EIBenchError, match=str(tmp_path)):
        load_encoder(f"bert-cls:{tmp_path}")
    with pytest.raises(EIBenchError, match="unknown encoder"):
        load_encoder("word2vec:x")


def test_a_model_is_read_on_first_need_and_a_broken_one_fails_then(tmp_path: Path) -> None:
    from eibench.embed import preload

    (tmp_path / "modules.json").write_text("not json", encoding="utf-8")
    enc = load_encoder(f"st:{tmp_path}")  # the folder looks like a model: nothing read yet
    assert isinstance(enc, TransformerEncoder) and not enc.loaded
    assert enc.name == f"st:{tmp_path.name}"
    with pytest.raises(EIBenchError, match="cannot load a sentence-transformers model"):
        preload(enc)


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(EIBenchError, match=r"pip install 'eibench\[semantic\]'"):
        load_encoder("minilm")


# --- emotion sensitivity --------------------------------------------------------------

ANGER = ["Clenched fists.", "Shouting at someone."]
JOY = ["Smiling broadly.", "Playing with a puppy."]


def test_insensitive_model_repeats_itself(
    encoder: TransformerEncoder, judge: SemanticJudge
) -> None:
    same = (
        "He clenches his fists and shouts at someone. He smiles broadly at a puppy he plays with."
    )
    insensitive = emotion_sensitivity(
        [
            SensitivityItem("a", "img.jpg", "anger", same, ANGER),
            SensitivityItem("b", "img.jpg", "joy", same, JOY),
        ],
        encoder,
        judge,
    )
    sensitive = emotion_sensitivity(
        [
            SensitivityItem("a", "img.jpg", "anger", "His fists are clenched as he yells.", ANGER),
            SensitivityItem("b", "img.jpg", "joy", "He grins while a puppy licks him.", JOY),
        ],
        encoder,
        judge,
    )
    assert (insensitive.n_images, insensitive.n_pairs) == (1, 1)
    assert insensitive.mean_cosine is not None
    assert insensitive.mean_cosine == pytest.approx(1.0, abs=1e-5)
    assert insensitive.mean_cross_recall is not None and insensitive.mean_cross_recall >= 0.9
    assert sensitive.mean_cosine is not None and sensitive.mean_cross_recall is not None
    assert sensitive.mean_cosine < insensitive.mean_cosine - 0.3
    assert sensitive.mean_cross_recall <= 0.5
    assert set(sensitive.per_sample) == {"a", "b"}


def test_items_alone_on_their_image_form_no_pair(
    encoder: TransformerEncoder, judge: SemanticJudge
) -> None:
    items = [
        SensitivityItem("a", "one.jpg", "anger", "He shouts.", ANGER),
        SensitivityItem("b", "two.jpg", "joy", "He smiles.", JOY),
    ]
    result = emotion_sensitivity(items, encoder, judge)
    assert (result.n_images, result.n_pairs, result.mean_cosine) == (0, 0, None)


def test_complex_split_pairs(
    release_dir: Path, encoder: TransformerEncoder, judge: SemanticJudge
) -> None:
    samples = load_split(release_dir, "complex").samples
    counts = Counter(s.image for s in samples)
    items = [
        SensitivityItem(s.id, s.image, s.emotion, " ".join(s.triggers), s.triggers) for s in samples
    ]
    result = emotion_sensitivity(items, encoder, judge)
    assert len(samples) == 50 and len(counts) == 23
    assert result.n_images == 23
    assert result.n_pairs == sum(k * (k - 1) // 2 for k in counts.values()) == 32
    assert len(result.per_sample) == 50
    assert result.mean_cosine is not None and 0 < result.mean_cosine < 1
    # Answers made of the sample's own triggers cover the partner's repeated triggers only.
    assert result.mean_cross_recall is not None and 0 < result.mean_cross_recall < 0.8
