"""CFSA text-similarity helpers: trigger de-duplication, novelty, stopping rule, question mining.

Cosines quoted below were measured with the bundled all-MiniLM-L6-v2 (the default encoder).

De-duplication by meaning (default threshold 0.9) merges close rewordings: "Her birthday cake
has candles on it." / "There are candles on her birthday cake." 0.968, "The child is holding a
balloon." / "A balloon is held by the child." 0.949, "The man is smiling." / "The man smiles."
0.930. It keeps different triggers that share words: "His fists are clenched." / "His jaw is
clenched." 0.848, "The sky is dark and cloudy." / "The sky is bright and sunny." 0.758.
At 0.8 looser paraphrases merge too ("The man is smiling broadly." / "The man has a big smile
on his face." 0.834, "She received a gift from her family." / "She was given a present by her
family." 0.896), but so would the fists / jaw pair: 0.9 is the safer default for a draft that
people review. Negated pairs are close in vector space ("She won the race." / "She didn't win
the race." 0.887), hence the negation guard.

Question clustering (average linkage) on QUESTIONS: the merge heights within a topic go down
to 0.546 (body language / posture halves) and 0.525 (activities / interactions halves); the
first merge across topics is facial expression with body language at 0.495. The default
threshold 0.5 sits in that gap.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np
import pytest

from eibench.cfsa.similarity import (
    QuestionCluster,
    cluster_questions,
    dedupe_triggers,
    novelty,
    should_continue,
)
from eibench.embed import load_encoder
from eibench.embed.encoder import Encoder


class FakeEncoder:
    """Fixed vectors per text (rows are normalised by the helpers)."""

    name = "fake"

    def __init__(self, vectors: dict[str, Sequence[float]]) -> None:
        self.vectors = vectors
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([self.vectors[t] for t in texts], dtype=np.float64).reshape(len(texts), -1)


@pytest.fixture(scope="module")
def minilm() -> Encoder:
    return load_encoder()


# --- dedupe_triggers by text ----------------------------------------------------------


def test_dedupe_drops_exact_and_near_duplicates_keeping_the_first() -> None:
    triggers = [
        "Smiling face.",
        "Her team won the final.",
        "smiling face",
        "2. A smiling face",
        "Her team won the finals!",
        "Confetti is falling.",
    ]
    assert dedupe_triggers(triggers) == [
        "Smiling face.",
        "Her team won the final.",
        "Confetti is falling.",
    ]


def test_dedupe_keeps_distinct_triggers_in_order() -> None:
    triggers = ["The room is dark.", "He is frowning.", "Rain is falling.", "He lost his wallet."]
    assert dedupe_triggers(triggers) == triggers


def test_dedupe_drops_empty_items_and_returns_kept_items_unchanged() -> None:
    assert dedupe_triggers(
        ["", "  ", "1.", "-", " 1. Tears on her face. ", "tears on her face"]
    ) == [" 1. Tears on her face. "]
    assert dedupe_triggers([]) == []
    assert dedupe_triggers(["", "\n"]) == []


def test_dedupe_never_merges_a_statement_with_its_negation() -> None:
    # difflib ratios 0.90 and 0.95: merged by spelling alone were it not for the guard.
    triggers = [
        "The man is smiling.",
        "The man is not smiling.",
        "He can't find his dog.",
        "He can find his dog.",
    ]
    assert dedupe_triggers(triggers) == triggers


def test_dedupe_is_deterministic() -> None:
    triggers = ["A smiling face", "Smiling face", "A frowning face", "A frowning face."]
    assert (
        dedupe_triggers(triggers)
        == dedupe_triggers(list(triggers))
        == [
            "A smiling face",
            "A frowning face",
        ]
    )


# --- dedupe_triggers by meaning -------------------------------------------------------


def test_dedupe_embedding_threshold_is_inclusive_with_exact_vectors() -> None:
    # cos(x, y) = 3/5 = 0.6 exactly; the texts share no spelling.
    encoder = FakeEncoder({"x": [5, 0], "zzz qqq": [3, 4]})
    assert dedupe_triggers(["x", "zzz qqq"], encoder, threshold=0.6) == ["x"]
    assert dedupe_triggers(["x", "zzz qqq"], encoder, threshold=0.61) == ["x", "zzz qqq"]


def test_dedupe_encodes_normalised_keys_once() -> None:
    encoder = FakeEncoder({"a dog": [1, 0], "a cat": [0, 1]})
    assert dedupe_triggers(["1. A dog.", "A cat", "a dog"], encoder) == ["1. A dog.", "A cat"]
    assert encoder.calls == [["a dog", "a cat"]]


def test_dedupe_by_meaning_merges_rewordings_but_not_different_triggers(minilm: Encoder) -> None:
    triggers = [
        "Her birthday cake has candles on it.",
        "His fists are clenched.",
        "The child is holding a balloon.",
        "The man is smiling.",
        "There are candles on her birthday cake.",  # 0.968 to the first
        "His jaw is clenched.",  # 0.848 to the fists: different trigger
        "A balloon is held by the child.",  # 0.949
        "The man smiles.",  # 0.930
        "The sky is dark and cloudy.",
        "The sky is bright and sunny.",  # 0.758
    ]
    assert dedupe_triggers(triggers) == triggers  # text rule alone merges none of them
    assert dedupe_triggers(triggers, minilm) == [
        "Her birthday cake has candles on it.",
        "His fists are clenched.",
        "The child is holding a balloon.",
        "The man is smiling.",
        "His jaw is clenched.",
        "The sky is dark and cloudy.",
        "The sky is bright and sunny.",
    ]


def test_dedupe_lower_threshold_merges_looser_paraphrases(minilm: Encoder) -> None:
    triggers = [
        "The man is smiling broadly.",
        "She received a gift from her family.",
        "The boy is holding a trophy.",
        "The man has a big smile on his face.",  # 0.834
        "She was given a present by her family.",  # 0.896
        "The boy is holding a medal.",  # 0.709
        "She won the race.",
        "She didn't win the race.",  # 0.887, but negated
    ]
    assert dedupe_triggers(triggers, minilm) == triggers
    assert dedupe_triggers(triggers, minilm, threshold=0.8) == [
        "The man is smiling broadly.",
        "She received a gift from her family.",
        "The boy is holding a trophy.",
        "The boy is holding a medal.",
        "She won the race.",
        "She didn't win the race.",
    ]


# --- novelty --------------------------------------------------------------------------


def test_novelty_arithmetic_with_exact_vectors() -> None:
    encoder = FakeEncoder({"a": [1, 0], "b": [0, 2], "c": [3, 4], "-a": [-1, 0]})
    # 1 - max cos to "a": 0, 1, 1 - 0.6; mean 1.4 / 3.
    assert novelty(["a", "b", "c"], ["a"], encoder) == pytest.approx(1.4 / 3, abs=1e-12)
    # the closest seen text counts: "c" is 0.8 from "b".
    assert novelty(["c"], ["a", "b"], encoder) == pytest.approx(0.2, abs=1e-12)
    # an opposite vector is as new as an unrelated one, never more.
    assert novelty(["-a"], ["a"], encoder) == 1.0


def test_novelty_empty_cases() -> None:
    encoder = FakeEncoder({"a": [1, 0]})
    assert novelty(["a"], [], encoder) == 1.0
    assert novelty([], ["a"], encoder) == 0.0
    assert novelty([], [], encoder) == 0.0
    assert novelty(["  "], ["a"], encoder) == 0.0
    assert novelty(["a"], [" "], encoder) == 1.0
    assert encoder.calls == []


def test_novelty_of_repeated_answers_is_about_zero(minilm: Encoder) -> None:
    seen = ["The woman is crying at a funeral.", "Several people wear black clothes."]
    assert novelty(seen, seen, minilm) == pytest.approx(0.0, abs=1e-5)
    assert novelty(seen[:1], seen, minilm) == pytest.approx(0.0, abs=1e-5)


def test_novelty_of_unrelated_answers_is_high(minilm: Encoder) -> None:
    seen = ["The woman is crying at a funeral.", "Several people wear black clothes."]
    unrelated = ["A dog catches a frisbee on the beach.", "The stock market rose today."]
    paraphrase = ["A woman weeps at a funeral."]
    high = novelty(unrelated, seen, minilm)
    assert high > 0.8
    assert novelty(paraphrase, seen, minilm) < 0.3 < high


# --- should_continue ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "round_index", "expected"),
    [
        (0.15, 0, True),  # novelty exactly at the minimum still counts
        (0.1499, 0, False),
        (0.9, 2, True),
        (0.9, 3, False),  # the hard cap, however novel
        (0.9, 7, False),
        (1.0, 0, True),
        (0.0, 0, False),
        (math.nan, 0, False),
    ],
)
def test_should_continue_boundaries(value: float, round_index: int, expected: bool) -> None:
    assert should_continue(value, round_index) is expected


def test_should_continue_options() -> None:
    assert should_continue(0.2, 1, min_novelty=0.25) is False
    assert should_continue(0.2, 1, min_novelty=0.2, max_rounds=2) is True
    assert should_continue(0.2, 2, min_novelty=0.2, max_rounds=2) is False
    assert should_continue(1.0, 0, max_rounds=0) is False
    with pytest.raises(ValueError, match="round_index"):
        should_continue(0.5, -1)


# --- cluster_questions ----------------------------------------------------------------

PEOPLE = [
    "How many people are in the image?",
    "How many people can be seen in the picture?",
    "What is the number of people in the scene?",
    "How many persons appear in this photo?",
    "How many individuals are present in the image?",
    "Count the people in the image: how many are there?",
    "How many people are visible in the scene?",
    "How many humans are in the picture?",
]
FACES = [
    "What is the facial expression of the person?",
    "What facial expressions do the people show?",
    "What expression is on the person's face?",
    "How would you describe the facial expression of the main person?",
    "What emotions do the faces of the people show?",
    "Is the person smiling, frowning or crying?",
]
BODY = [
    "What is the body language of the person?",
    "How is the person positioned or posed?",
    "What does the person's posture suggest?",
    "Describe the body posture of the people in the image.",
    "What gestures or body movements does the person make?",
]
ACTIVITY = [
    "What activities are the people engaged in?",
    "What are the people in the image doing?",
    "How are the people interacting with each other?",
    "What interactions are happening between the people?",
    "What activity is taking place in the scene?",
]
TIME = ["What time of day is it in the image?", "Is it day or night in the picture?"]
CLOTHES = ["What colour are the person's clothes?"]
QUESTIONS = PEOPLE + FACES + BODY + ACTIVITY + TIME + CLOTHES


def _interleaved() -> list[str]:
    """The proposals in the order many images would yield them: topics mixed."""
    mixed = list(QUESTIONS)
    random.Random(7).shuffle(mixed)
    return mixed


def test_cluster_questions_finds_the_papers_four_topics(minilm: Encoder) -> None:
    clusters = cluster_questions(_interleaved(), minilm, k=4)
    assert [c.size for c in clusters] == [8, 6, 5, 5]
    assert [set(c.members) for c in clusters] == [
        set(PEOPLE),
        set(FACES),
        set(BODY),  # the tie at 5 is ordered by representative text
        set(ACTIVITY),
    ]
    assert clusters[0].representative == "How many people are in the image?"
    assert clusters[1].representative == "What is the facial expression of the person?"
    for cluster in clusters:
        assert cluster.representative in cluster.members
    assert clusters[2].representative < clusters[3].representative


def test_cluster_questions_is_deterministic_and_order_free(minilm: Encoder) -> None:
    first = cluster_questions(QUESTIONS, minilm, k=6)
    assert cluster_questions(QUESTIONS, minilm, k=6) == first
    assert cluster_questions(_interleaved(), minilm, k=6) == first
    assert cluster_questions(list(reversed(QUESTIONS)), minilm, k=6) == first
    assert [c.size for c in first] == [8, 6, 5, 5, 2, 1]


def test_cluster_questions_counts_repeated_proposals(minilm: Encoder) -> None:
    proposals = [*QUESTIONS, *[TIME[1]] * 10, " " + TIME[0] + " ", "", "  "]
    clusters = cluster_questions(proposals, minilm, k=2)
    assert clusters[0].size == 13
    assert clusters[0].members == (TIME[1], TIME[0])  # most often proposed first
    assert clusters[0].representative == TIME[1]
    assert clusters[1].size == 8


def test_cluster_questions_high_threshold_leaves_singletons(minilm: Encoder) -> None:
    clusters = cluster_questions(QUESTIONS, minilm, k=100, threshold=0.99)
    assert len(clusters) == len(QUESTIONS)
    assert all(c.size == 1 for c in clusters)
    assert [c.representative for c in clusters] == sorted(QUESTIONS)  # ties: by text


def test_cluster_questions_average_linkage_arithmetic() -> None:
    # cos(p, q) = 0.6, cos(q, r) = 0.8, cos(p, r) = 0. q and r merge first; p then joins at
    # the mean over proposals: (2 * 0.6 + 1 * 0) / 3 = 0.4 when q was proposed twice.
    encoder = FakeEncoder({"p": [5, 0], "q": [3, 4], "r": [0, 5]})
    proposals = ["p", "q", "q", "r"]
    joined = cluster_questions(proposals, encoder, k=5, threshold=0.39)
    assert joined == [QuestionCluster(representative="q", size=4, members=("q", "p", "r"))]
    split = cluster_questions(proposals, encoder, k=5, threshold=0.41)
    assert split == [
        QuestionCluster(representative="q", size=3, members=("q", "r")),
        QuestionCluster(representative="p", size=1, members=("p",)),
    ]
    assert cluster_questions(proposals, encoder, k=5, threshold=0.81) == [
        QuestionCluster(representative="q", size=2, members=("q",)),
        QuestionCluster(representative="p", size=1, members=("p",)),
        QuestionCluster(representative="r", size=1, members=("r",)),
    ]


def test_cluster_representative_follows_the_weighted_centroid() -> None:
    # Centroid of 3 x + 1 y is (3.6, 0.8): x scores 3.6, y 2.8. Reversed counts favour y.
    encoder = FakeEncoder({"x": [1, 0], "y": [0.6, 0.8]})
    assert cluster_questions(["x", "x", "x", "y"], encoder, k=1)[0].representative == "x"
    assert cluster_questions(["x", "y", "y", "y"], encoder, k=1)[0].representative == "y"


def test_cluster_questions_edge_cases() -> None:
    encoder = FakeEncoder({"a": [1, 0], "b": [0, 1]})
    assert cluster_questions([], encoder, k=4) == []
    assert cluster_questions(["", " "], encoder, k=4) == []
    assert cluster_questions(["a"], encoder, k=4) == [QuestionCluster("a", 1, ("a",))]
    assert len(cluster_questions(["a", "b"], encoder, k=1)) == 1
    with pytest.raises(ValueError, match="k must be"):
        cluster_questions(["a"], encoder, k=0)
