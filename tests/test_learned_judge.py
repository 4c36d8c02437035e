"""The learned offline judge (the default): its shipped artefact, its agreement with the
labelled set's held-out test fold against the word-recall judge it replaces, and the cascade's
merge of a model judge's answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eibench.embed import load_encoder
from eibench.errors import DataError
from eibench.judges.cascade import Band, merge, sent_share, uncertain
from eibench.judges.features import FEATURES
from eibench.judges.learned import (
    ARTEFACT,
    LearnedJudge,
    Tree,
    TreeModel,
    default_model,
    load_model,
    offline_judge,
)
from eibench.judges.semantic import SemanticJudge
from eibench.records.verdict import TriggerEvidence, Verdict
from eibench.review.calibration import calibrate
from tests.judge_labels import load_judge_labels


@pytest.fixture(scope="module")
def test_fold(release_dir: Path) -> list[dict[str, Any]]:
    return [r for r in load_judge_labels(release_dir) if r["fold"] == "test"]


def _agreement(judge: SemanticJudge, rows: list[dict[str, Any]]) -> tuple[float, float, float]:
    """(kappa, mean |recall diff|, share of denied mentions not counted) on `rows`."""
    verdicts = judge.judge_many([(r["answer"], r["triggers"]) for r in rows])
    judged = {str(i): [t.covered for t in v.triggers] for i, v in enumerate(verdicts)}
    human = {str(i): [bool(x) for x in r["labels"]] for i, r in enumerate(rows)}
    c = calibrate(human, judged)
    denied = [judged[str(i)][k - 1] for i, r in enumerate(rows) for k in r["denied"]]
    return c.kappa, c.mean_abs_recall_diff, 1 - sum(denied) / len(denied)


def test_learned_judge_beats_word_recall_on_the_held_out_fold(
    test_fold: list[dict[str, Any]],
) -> None:
    encoder = load_encoder("minilm")
    judge = offline_judge(encoder)
    assert isinstance(judge, LearnedJudge)
    learned = _agreement(judge, test_fold)
    word_recall = _agreement(SemanticJudge(encoder), test_fold)
    # benchmarks/judge_agreement.py: learned 0.614 / 0.146 / 79%; word recall 0.481 / 0.210 / 12%
    assert learned[0] >= 0.58 and learned[0] > word_recall[0] + 0.1
    assert learned[1] <= 0.16 and learned[1] < word_recall[1] - 0.04
    assert learned[2] >= 0.7 and word_recall[2] < 0.3


def test_verdicts_carry_the_probability_and_config_names_the_model_version() -> None:
    judge = offline_judge(load_encoder("minilm"))
    verdict = judge.judge(
        "She is laughing at a joke her friend just told her at the party.",
        ["A friend telling a joke", "Holding an umbrella in the rain"],
    )
    joke, umbrella = verdict.triggers
    assert joke.covered and not umbrella.covered
    assert joke.score is not None and umbrella.score is not None
    assert 0.0 <= umbrella.score < joke.score <= 1.0
    assert judge.config["method"] == "learned-v1"
    assert judge.config["model"] == default_model().version
    assert judge.threshold == default_model().threshold


def test_another_encoder_gets_the_word_recall_judge(tmp_path: Path) -> None:
    minilm = load_encoder("minilm")

    class Other:
        name = "st:other"

        def __getattr__(self, attr: str) -> Any:
            return getattr(minilm, attr)

    judge = offline_judge(Other())  # type: ignore[arg-type]
    assert type(judge) is SemanticJudge and judge.config["method"] == "word-recall-v2"


def test_shipped_artefact_is_whole_and_versioned_by_what_it_decides() -> None:
    model = load_model()
    assert tuple(model.features) == FEATURES and model.trees
    assert model.fit["cv"].startswith("5-fold") and "judge_labels tune fold" in model.fit["labels"]
    moved = model.model_copy(update={"threshold": model.threshold + 0.01})
    refit = model.model_copy(update={"fit": {**model.fit, "cv_kappa": 0.0}})
    assert TreeModel.model_validate_json(ARTEFACT.read_text()).version == model.version
    assert moved.version != model.version and refit.version == model.version


def test_trees_add_leaf_values_through_the_sigmoid() -> None:
    # one stump on feature 1: <= 0.5 goes left (-1.0), else right (+2.0)
    stump = Tree(feature=[1, 0, 0], threshold=[0.5, 0, 0], left=[1, 0, 0], right=[2, 0, 0],
                 value=[0, -1.0, 2.0], leaf=[False, True, True])  # fmt: skip
    model = TreeModel(features=list(FEATURES), features_version="1", baseline=0.5,
                      trees=[stump, stump], threshold=0.5)  # fmt: skip
    x = np.zeros((2, len(FEATURES)))
    x[1, 1] = 0.9
    expected = 1 / (1 + np.exp(-np.array([0.5 - 2.0, 0.5 + 4.0])))
    assert np.allclose(model.probability(x), expected)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: {**d, "features_version": "0"}, "fitted on other features"),
        (lambda d: {k: v for k, v in d.items() if k != "trees"}, "trees"),
    ],
)
def test_a_bad_artefact_is_one_line_naming_the_file(
    tmp_path: Path, edit: Any, problem: str
) -> None:
    path = tmp_path / "judge.json"
    path.write_text(json.dumps(edit(json.loads(ARTEFACT.read_text()))))
    with pytest.raises(DataError) as caught:
        load_model(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)
    assert "\n" not in str(caught.value)


def _verdict(scores: list[float]) -> Verdict:
    triggers = tuple(
        TriggerEvidence(index=i, covered=s >= 0.44, score=s, evidence="e")
        for i, s in enumerate(scores, 1)
    )
    return Verdict(correct=sum(t.covered for t in triggers), total=len(scores), triggers=triggers)


def test_cascade_sends_the_uncertain_band_and_merges_the_model_answers() -> None:
    band = Band(low=0.3, high=0.6)
    verdict = _verdict([0.1, 0.3, 0.5, 0.6, 0.9])
    assert uncertain(verdict, band) == [2, 3]
    assert sent_share([verdict, _verdict([0.2, 0.55])], band) == pytest.approx(3 / 7)
    merged = merge(verdict, {2: 0.8, 3: 0.1}, threshold=0.7)
    assert [t.covered for t in merged.triggers] == [False, True, False, True, True]
    assert merged.correct == 3 and merged.triggers[1].score == 0.8
    assert merged.triggers[1].evidence == "e"
    with pytest.raises(ValueError, match="low end"):
        Band(low=0.7, high=0.2)
