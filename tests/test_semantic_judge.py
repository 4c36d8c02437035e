"""The offline semantic judge: agreement with human labels, sanity on the release, determinism.

tests/data/semantic_labels.jsonl holds hand-written VLM-style answers for 84 release samples
with one human 0/1 label per ground-truth trigger. The method and its threshold were chosen on
the "tune" fold; the "test" fold is held out. Triggers are read from the shared release.

The test fold is small (its kappa moves by about 0.1 under a bootstrap), so methods are also
compared by 5-fold cross-validation over all 84 answers, grouped by sample, 5 seeds, threshold
fitted on the training folds (python -m benchmarks.semantic_cv). Mean kappa / accuracy /
|recall diff|: word-recall-v2 (sqrt-idf) 0.654 / 0.833 / 0.125; word-recall-v1 (uniform
weights) 0.604 / 0.807 / 0.152; plain sentence cosine 0.512 / 0.762 / 0.199.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eibench.data import load_split
from eibench.embed import load_encoder, split_sentences
from eibench.embed.encoder import TransformerEncoder
from eibench.judges.semantic import DEFAULT_THRESHOLD, SemanticJudge
from tests.semantic_labels import BASELINE_THRESHOLD, agreement, cosine_scores, load_labelled


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TransformerEncoder]:
    enc = load_encoder(cache_dir=tmp_path_factory.mktemp("emb-cache"))
    assert isinstance(enc, TransformerEncoder)
    yield enc


@pytest.fixture(scope="module")
def judge(encoder: TransformerEncoder) -> SemanticJudge:
    return SemanticJudge(encoder)


@pytest.fixture(scope="module")
def labelled(release_dir: Path) -> list[dict[str, Any]]:
    """The labelled answers, each with its sample's triggers loaded from the release."""
    return load_labelled(release_dir)


@pytest.fixture(scope="module")
def basic_samples(release_dir: Path) -> list[Any]:
    return load_split(release_dir, "basic").samples


def judge_fold(judge: SemanticJudge, rows: list[dict[str, Any]]) -> list[list[int]]:
    verdicts = judge.judge_many([(r["answer"], r["triggers"]) for r in rows])
    return [[int(e.covered) for e in v.triggers] for v in verdicts]


def baseline_fold(encoder: TransformerEncoder, rows: list[dict[str, Any]]) -> list[list[int]]:
    return [[int(v >= BASELINE_THRESHOLD) for v in c] for c in cosine_scores(encoder, rows)]


def test_labelled_set_is_well_formed(labelled: list[dict[str, Any]]) -> None:
    assert len(labelled) >= 60
    assert {r["fold"] for r in labelled} == {"tune", "test"}
    assert all(len(r["labels"]) == len(r["triggers"]) for r in labelled)
    assert all(set(r["labels"]) <= {0, 1} for r in labelled)
    assert {"happy", "angry", "sad", "excited"} <= {r["emotion"] for r in labelled}
    assert {r["split"] for r in labelled} == {"basic", "complex"}
    covered = np.mean(np.concatenate([r["labels"] for r in labelled]))
    assert 0.4 <= covered <= 0.65
    recalls = [np.mean(r["labels"]) for r in labelled]
    assert min(recalls) == 0.0 and max(recalls) == 1.0
    assert all(3 <= len(split_sentences(r["answer"])) <= 8 for r in labelled)


def test_judge_agrees_with_human_labels_on_tune_fold(
    judge: SemanticJudge, labelled: list[dict[str, Any]]
) -> None:
    rows = [r for r in labelled if r["fold"] == "tune"]
    kappa, accuracy, recall_diff = agreement(rows, judge_fold(judge, rows))
    print(f"\ntune fold: kappa={kappa:.3f} accuracy={accuracy:.3f} recall diff={recall_diff:.3f}")
    assert kappa >= 0.72
    assert accuracy >= 0.86
    assert recall_diff <= 0.115


def test_judge_on_held_out_test_fold_beats_plain_cosine(
    judge: SemanticJudge, encoder: TransformerEncoder, labelled: list[dict[str, Any]]
) -> None:
    """The held-out fold is harder than the tune fold (more abstract paraphrases) and the
    judge does not reach the 0.7 kappa target there; these bounds guard what it reaches
    (kappa 0.569, accuracy 0.785, recall difference 0.143; v1 reached 0.526 / 0.762 / 0.165)
    and its lead over the baseline. Cross-validated figures: see the module doc."""
    rows = [r for r in labelled if r["fold"] == "test"]
    kappa, accuracy, recall_diff = agreement(rows, judge_fold(judge, rows))
    b_kappa, b_accuracy, b_diff = agreement(rows, baseline_fold(encoder, rows))
    print(
        "\n5-fold CV (benchmarks/semantic_cv.py): kappa=0.654 accuracy=0.833 recall diff=0.125"
        f"\ntest fold: kappa={kappa:.3f} accuracy={accuracy:.3f} recall diff={recall_diff:.3f}"
        f"\nplain cosine: kappa={b_kappa:.3f} accuracy={b_accuracy:.3f} recall diff={b_diff:.3f}"
    )
    assert kappa >= 0.55
    assert accuracy >= 0.77
    assert recall_diff <= 0.155
    assert kappa > b_kappa and accuracy > b_accuracy and recall_diff < b_diff


def test_answer_made_of_own_triggers_scores_full_recall(
    judge: SemanticJudge, basic_samples: list[Any]
) -> None:
    picked = basic_samples[::8]
    verdicts = judge.judge_many([(" ".join(s.triggers), s.triggers) for s in picked])
    recalls = np.array([v.recall for v in verdicts])
    assert recalls.min() >= 0.95
    assert np.mean([v.precision for v in verdicts]) >= 0.95


def test_answer_made_of_k_of_n_triggers_scores_about_k_over_n(
    judge: SemanticJudge, basic_samples: list[Any]
) -> None:
    """Each kept trigger is found; a dropped one is sometimes credited through a kept near
    duplicate ("positive news" / "good news"), so recall may exceed k/n a little."""
    rng = random.Random(0)
    items, expected, sizes = [], [], []
    for s in basic_samples[::8]:
        n = len(s.triggers)
        kept = sorted(rng.sample(range(n), rng.randint(1, n - 1)))
        items.append((" ".join(s.triggers[i] for i in kept), s.triggers))
        expected.append(len(kept) / n)
        sizes.append(n)
    excess = np.array([v.recall for v in judge.judge_many(items)]) - np.array(expected)
    print(f"\nk of n: mean excess={excess.mean():.3f} max={excess.max():.3f}")
    assert excess.min() >= -1e-9
    assert excess.mean() <= 0.12
    assert np.mean(excess <= 1 / np.array(sizes) + 1e-9) >= 0.85


def test_answer_made_of_another_emotions_triggers_scores_low(
    judge: SemanticJudge, basic_samples: list[Any]
) -> None:
    items = []
    for i, s in enumerate(basic_samples[::8]):
        others = [o for o in basic_samples if o.emotion != s.emotion]
        items.append((" ".join(others[(i * 7919) % len(others)].triggers), s.triggers))
    verdicts = judge.judge_many(items)
    recall = float(np.mean([v.recall for v in verdicts]))
    print(f"\nother emotion's triggers: mean recall={recall:.3f}")
    assert recall <= 0.15
    assert np.mean([v.precision for v in verdicts]) <= 0.2


def test_verdict_structure_and_evidence(judge: SemanticJudge) -> None:
    answer = (
        "The man looks furious because he is arguing with his neighbour. "
        "His fists are clenched. The sky is blue and there are clouds."
    )
    triggers = ["Heated argument with a neighbour.", "Clenched fists.", "Losing a game."]
    verdict = judge.judge(answer, triggers)
    assert (verdict.correct, verdict.total) == (2, 3)
    assert [e.index for e in verdict.triggers] == [1, 2, 3]
    assert [e.covered for e in verdict.triggers] == [True, True, False]
    assert verdict.triggers[1].evidence == "His fists are clenched."
    assert all(e.evidence and e.evidence in answer for e in verdict.triggers)
    assert verdict.precision == pytest.approx(2 / 3)
    assert verdict.unsupported_rate == pytest.approx(1 / 3)
    assert verdict.unmatched_claims == ("The sky is blue and there are clouds.",)
    json.dumps(judge.config)
    assert judge.name == "semantic:all-MiniLM-L6-v2"
    assert judge.config["threshold"] == DEFAULT_THRESHOLD


def test_empty_answer_covers_nothing(judge: SemanticJudge) -> None:
    verdict = judge.judge("", ["Smiling.", "A birthday cake."])
    assert (verdict.correct, verdict.total, verdict.precision) == (0, 2, None)
    assert all(e.score == 0 and e.evidence is None for e in verdict.triggers)


def test_judging_is_deterministic_and_batch_invariant(
    judge: SemanticJudge, encoder: TransformerEncoder, labelled: list[dict[str, Any]]
) -> None:
    items = [(r["answer"], r["triggers"]) for r in labelled[:12]]
    encoder.clear_memo()
    batch = judge.judge_many(items)
    encoder.clear_memo()
    again = judge.judge_many(items)
    singles = []
    for item in items:
        encoder.clear_memo()
        singles.extend(judge.judge_many([item]))
    assert [v.model_dump() for v in batch] == [v.model_dump() for v in again]
    for a, b in zip(batch, singles, strict=True):
        assert a.correct == b.correct and a.precision == b.precision
        assert [e.covered for e in a.triggers] == [e.covered for e in b.triggers]
        assert [e.evidence for e in a.triggers] == [e.evidence for e in b.triggers]
        scores_a = [e.score or 0.0 for e in a.triggers]
        assert np.allclose(scores_a, [e.score or 0.0 for e in b.triggers], atol=1e-3)


def test_progress_counts_every_item(judge: SemanticJudge) -> None:
    done: list[int] = []
    judge.judge_many([("He smiles.", ["Smiling."])] * 5, progress=done.append)
    assert sum(done) == 5


def test_ground_truth_triggers_are_cached_on_disk(
    judge: SemanticJudge, encoder: TransformerEncoder
) -> None:
    triggers = ["A rare purple umbrella in the rain.", "Dancing on a wet street."]
    judge.judge("She twirls under her umbrella.", triggers)
    encoder.clear_memo()
    before = encoder.encoded
    judge.judge("She twirls under her umbrella.", triggers)
    assert encoder.encoded - before == 1  # only the answer's sentence, not the triggers
