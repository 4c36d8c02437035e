"""Analysis of human ratings and of judge-vs-human audits: the release's published figures,
agreement coefficients against known values, read errors, and calibration arithmetic."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eibench.data.schema import emotion_of
from eibench.errors import DataError, EIBenchError
from eibench.metrics.agreement import krippendorff_alpha
from eibench.review.analysis import Ratings, icc_2_1, rating_report, read_release_scores
from eibench.review.calibration import calibrate, calibrate_counts, fit_threshold, majority

RATERS = ("7861", "7862", "7866")

# Shrout & Fleiss (1979), "Intraclass correlations: uses in assessing rater reliability",
# Table 2: 6 targets x 4 judges. Published: ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71, from
# BMS 11.24, JMS 32.49, EMS 1.02.
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]


def _basic(key: str) -> str:
    return emotion_of("basic", key)


@pytest.fixture(scope="module")
def release_ratings(release_dir: Path) -> Ratings:
    paths = [release_dir / "human_eval" / f"score_{rater}.jsonl" for rater in RATERS]
    return read_release_scores(paths)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _by_prefix(key: str) -> str:
    return key.split("/")[0]


# --- the release ------------------------------------------------------------------------


def test_release_report_reproduces_the_published_figures(release_ratings: Ratings) -> None:
    report = rating_report(release_ratings, _basic, resamples=50)
    means = {c.category: round(c.mean, 3) for c in report.categories}
    assert means == {"happy": 4.282, "angry": 4.607, "sad": 4.124, "excited": 4.651}
    assert [c.n_items for c in report.categories] == [13, 50, 75, 62]
    overall = report.overall
    assert (round(overall.mean, 3), round(overall.std, 3)) == (4.416, 0.729)
    assert (overall.min, overall.max, overall.n_items) == (1.0, 5.0, 200)
    assert (report.n_items, report.n_raters) == (200, 3)


def test_release_per_rater_distributions(release_ratings: Ratings) -> None:
    report = rating_report(release_ratings, _basic, resamples=10)
    assert report.raters == {
        "7861": {1: 1, 2: 3, 3: 2, 4: 17, 5: 177},
        "7862": {1: 11, 2: 9, 3: 18, 4: 47, 5: 115},
        "7866": {2: 4, 3: 28, 4: 93, 5: 75},
    }


def test_release_agreement_is_alpha_of_the_ratings_and_icc_of_all_items(
    release_ratings: Ratings,
) -> None:
    report = rating_report(release_ratings, _basic, resamples=200)
    items = sorted(release_ratings["7861"])
    data: list[list[float | None]] = [[release_ratings[r][k] for k in items] for r in RATERS]
    assert report.alpha.estimate == pytest.approx(krippendorff_alpha(data, "ordinal"))
    table = [[release_ratings[r][k] for r in RATERS] for k in items]
    assert report.icc.estimate == pytest.approx(icc_2_1(table))
    for interval in (report.alpha, report.icc):
        assert interval.n == 200
        assert interval.low < interval.estimate < interval.high


# --- statistics on hand-made data ---------------------------------------------------------


def test_icc_matches_shrout_and_fleiss() -> None:
    assert round(icc_2_1(SHROUT_FLEISS), 2) == 0.29
    bms, jms, ems = 11.24, 32.49, 1.02  # their published mean squares
    assert icc_2_1(SHROUT_FLEISS) == pytest.approx(
        (bms - ems) / (bms + 3 * ems + 4 * (jms - ems) / 6), abs=1e-3
    )


def test_icc_is_nan_where_undefined() -> None:
    assert math.isnan(icc_2_1([[3, 3], [3, 3]]))
    assert math.isnan(icc_2_1([[1, 2, 3]]))
    assert math.isnan(icc_2_1([[1], [2]]))


def test_category_stats_follow_the_release_formulas() -> None:
    # a/1, a/2 in category a; b/1 in b. Rater x: a -> [1, 3], b -> [5]; rater y: a -> [3, 3],
    # b -> [4]. Category a: mean (2 + 3) / 2, var (1 + 0) / 2. Category b: mean 4.5, var 0.
    ratings: Ratings = {
        "x": {"a/1": 1, "a/2": 3, "b/1": 5},
        "y": {"a/1": 3, "a/2": 3, "b/1": 4},
    }
    report = rating_report(ratings, _by_prefix, resamples=5)
    a, b = report.categories
    assert (a.category, a.n_items, a.mean, a.std, a.min, a.max) == (
        "a",
        2,
        2.5,
        math.sqrt(0.5),
        1,
        3,
    )
    assert (b.category, b.mean, b.std) == ("b", 4.5, 0.0)
    overall = report.overall
    assert overall.mean == pytest.approx((2.5 + 4.5) / 2)
    assert overall.std == pytest.approx(math.sqrt(0.25))
    assert (overall.min, overall.max, overall.n_items) == (1, 5, 3)


def test_basic_emotions_come_first_then_others_alphabetically() -> None:
    ratings: Ratings = {"x": {"zeta/1": 1, "sad/1": 2, "alpha/1": 3, "happy/1": 4}}
    report = rating_report(ratings, _by_prefix, resamples=5)
    assert [c.category for c in report.categories] == ["happy", "sad", "alpha", "zeta"]


def test_perfect_agreement_gives_alpha_and_icc_one() -> None:
    scores = {f"i{n}": float(n % 5 + 1) for n in range(20)}
    ratings: Ratings = {"x": dict(scores), "y": dict(scores), "z": dict(scores)}
    report = rating_report(ratings, lambda key: "all", resamples=100)
    assert report.alpha.estimate == pytest.approx(1.0)
    assert report.icc.estimate == pytest.approx(1.0)
    assert report.icc.low == pytest.approx(1.0)
    assert report.alpha.low == pytest.approx(1.0)


def test_icc_uses_only_items_every_rater_scored_and_alpha_keeps_the_rest() -> None:
    full: Ratings = {"x": {"a": 1, "b": 3, "c": 5}, "y": {"a": 2, "b": 3, "c": 4}}
    partial: Ratings = {"x": {**full["x"], "d": 2}, "y": dict(full["y"])}
    report = rating_report(partial, lambda key: "all", resamples=20)
    assert report.icc.n == 3
    assert report.icc.estimate == pytest.approx(icc_2_1([[1, 2], [3, 3], [5, 4]]))
    assert report.alpha.n == 4
    assert report.n_items == 4


def test_bootstrap_is_reproducible_and_seeded(release_ratings: Ratings) -> None:
    first = rating_report(release_ratings, _basic, resamples=100, seed=3)
    again = rating_report(release_ratings, _basic, resamples=100, seed=3)
    other = rating_report(release_ratings, _basic, resamples=100, seed=4)
    assert (first.alpha, first.icc) == (again.alpha, again.icc)
    assert first.alpha.estimate == other.alpha.estimate
    assert (first.alpha.low, first.icc.low) != (other.alpha.low, other.icc.low)


def test_report_without_scores_is_an_error() -> None:
    with pytest.raises(ValueError, match="no scores"):
        rating_report({"x": {}}, _by_prefix)


# --- reading the release files ------------------------------------------------------------


def test_rater_name_comes_from_the_file_name(tmp_path: Path) -> None:
    first = _write(tmp_path / "score_42.jsonl", '{"a.png": "5"}\n\n{"b.png": "1"}\n')
    second = _write(tmp_path / "alice.jsonl", '{"a.png": 4}\n')
    assert read_release_scores([first, second]) == {
        "42": {"a.png": 5.0, "b.png": 1.0},
        "alice": {"a.png": 4.0},
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"b.png": "good"}', "score_1.jsonl:2: key 'b.png': score 'good' is not a number"),
        ('{"b.png": "7"}', "score_1.jsonl:2: key 'b.png': score '7' is outside 1-5"),
        ('{"b.png": "-1"}', "score_1.jsonl:2: key 'b.png': score '-1' is outside 1-5"),
        ('{"b.png": 0}', "score_1.jsonl:2: key 'b.png': score 0 is outside 1-5"),
        ('{"b.png": "nan"}', "score_1.jsonl:2: key 'b.png': score 'nan' is not a number"),
        ('{"b.png": true}', "score_1.jsonl:2: key 'b.png': score True is not a number"),
        ('{"a.png": "4"}', "score_1.jsonl:2: key 'a.png': rated twice (first on line 1)"),
        ('{"b.png": "4", "c.png": "5"}', "score_1.jsonl:2: expected one image/score pair, got 2"),
        ('{"b.png": "4"', "score_1.jsonl:2: malformed JSON"),
    ],
)
def test_bad_score_file_is_a_one_line_data_error(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path / "score_1.jsonl", '{"a.png": "5"}\n' + line + "\n")
    with pytest.raises(DataError) as caught:
        read_release_scores([path])
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    assert caught.value.line == 2


def test_same_rater_twice_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _write(tmp_path / "a" / "score_1.jsonl", '{"a.png": "5"}\n')
    second = _write(tmp_path / "b" / "score_1.jsonl", '{"a.png": "5"}\n')
    with pytest.raises(DataError, match="rater '1' is already read"):
        read_release_scores([first, second])


# --- calibration --------------------------------------------------------------------------


def test_calibrate_on_a_hand_example() -> None:
    human = {
        "s1": [True, True, False, False],
        "s2": [True, False],
        "s3": [False, False],
        "gone": [True],  # no judge verdicts
        "short": [True, True],  # the judge saw another trigger count
    }
    judge = {
        "s1": [True, False, False, False],
        "s2": [True, True],
        "s3": [False, False],
        "short": [True],
        "extra": [True],
    }
    result = calibrate(human, judge)
    assert (result.n_samples, result.n_triggers) == (3, 8)
    # agreement on 6 of 8 triggers; human covered 3/8, judge 3/8: p_e = (3/8)^2 + (5/8)^2
    assert result.accuracy == pytest.approx(6 / 8)
    p_e = (3 / 8) ** 2 + (5 / 8) ** 2
    assert result.kappa == pytest.approx((6 / 8 - p_e) / (1 - p_e))
    # per-sample recalls: human (0.5, 0.5, 0), judge (0.25, 1, 0)
    assert result.human_recall == pytest.approx(1 / 3)
    assert result.judge_recall == pytest.approx(1.25 / 3)
    assert result.mean_abs_recall_diff == pytest.approx((0.25 + 0.5 + 0) / 3)
    assert result.recall_pearson == pytest.approx(
        float(np.corrcoef([0.5, 0.5, 0.0], [0.25, 1.0, 0.0])[0, 1])
    )
    assert result.recall_spearman == pytest.approx(
        float(np.corrcoef([2.5, 2.5, 1.0], [2.0, 3.0, 1.0])[0, 1])
    )


def test_calibrate_counts_leaves_per_trigger_fields_nan() -> None:
    human = {"s1": [True, False], "s2": [True, True, True, False], "s3": [], "s4": [True]}
    judge = {"s1": 1.0, "s2": 0.5, "s3": 1.0, "s4": math.nan}
    result = calibrate_counts(human, judge)
    assert (result.n_samples, result.n_triggers) == (2, 6)
    assert math.isnan(result.accuracy) and math.isnan(result.kappa)
    assert result.human_recall == pytest.approx((0.5 + 0.75) / 2)
    assert result.judge_recall == pytest.approx(0.75)
    assert result.mean_abs_recall_diff == pytest.approx((0.5 + 0.25) / 2)
    assert result.recall_pearson == pytest.approx(-1.0)


def test_calibrate_with_nothing_shared_is_all_nan() -> None:
    result = calibrate({"a": [True]}, {"b": [True]})
    assert (result.n_samples, result.n_triggers) == (0, 0)
    assert all(
        math.isnan(v)
        for v in (result.accuracy, result.kappa, result.recall_pearson, result.human_recall)
    )


def test_majority_counts_ties_as_covered() -> None:
    assert majority([[True, False, True], [False, False, True]]) == [True, False, True]
    assert majority([[True, False], [False, False], [True, True]]) == [True, False]
    assert majority([[True, False]]) == [True, False]
    with pytest.raises(ValueError, match="at least one"):
        majority([])
    with pytest.raises(ValueError, match="differ in length"):
        majority([[True], [True, False]])


# --- properties -----------------------------------------------------------------------------

tables = st.integers(2, 8).flatmap(
    lambda n: st.integers(2, 4).flatmap(
        lambda k: st.lists(
            st.lists(st.integers(0, 5), min_size=k, max_size=k), min_size=n, max_size=n
        )
    )
)


@settings(max_examples=60, deadline=None)
@given(tables, st.floats(0.1, 10), st.floats(-10, 10))
def test_icc_is_at_most_one_and_invariant_to_a_change_of_scale(
    table: list[list[int]], scale: float, shift: float
) -> None:
    value = icc_2_1(table)
    moved = icc_2_1([[scale * v + shift for v in row] for row in table])
    if math.isnan(value):
        assert math.isnan(moved)
    else:
        assert value <= 1 + 1e-9
        assert moved == pytest.approx(value, abs=1e-6)


flags = st.lists(st.lists(st.booleans(), min_size=1, max_size=5), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(flags)
def test_a_judge_that_copies_people_is_perfectly_calibrated(labels: list[list[bool]]) -> None:
    human = {f"s{i}": row for i, row in enumerate(labels)}
    result = calibrate(human, {key: list(row) for key, row in human.items()})
    assert result.accuracy == 1.0
    assert result.kappa == 1.0
    assert result.mean_abs_recall_diff == 0.0
    assert result.human_recall == result.judge_recall
    counts = calibrate_counts(human, {k: sum(v) / len(v) for k, v in human.items()})
    assert counts.mean_abs_recall_diff == pytest.approx(0.0)
    assert counts.n_triggers == result.n_triggers


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["happy/1", "happy/2", "sad/1", "sad/2", "sad/3"]),
        st.integers(0, 5),
        min_size=1,
    ),
    st.dictionaries(st.sampled_from(["happy/1", "sad/1", "sad/3"]), st.integers(0, 5)),
)
def test_category_means_lie_within_the_scores(
    first: dict[str, int], second: dict[str, int]
) -> None:
    ratings: Ratings = {"x": dict(first), "y": dict(second)}
    report = rating_report(ratings, _by_prefix, resamples=5)
    for stats in (*report.categories, report.overall):
        assert stats.min - 1e-9 <= stats.mean <= stats.max + 1e-9
        assert stats.std >= 0
    assert sum(sum(c.values()) for c in report.raters.values()) == len(first) + len(second)


def test_fit_threshold_separates_a_hand_example_between_scores() -> None:
    # covered by people exactly when the score is at least 0.6; the default 0.5 would also
    # cover the 0.55 trigger
    human = {"a": [True, False, True], "b": [False, True], "c": [False]}
    scores = {"a": [0.9, 0.55, 0.6], "b": [0.2, 0.7], "c": [0.1]}
    fit = fit_threshold(human, scores)
    assert fit.threshold == pytest.approx((0.55 + 0.6) / 2)
    assert fit.calibration.kappa == 1.0 and fit.calibration.accuracy == 1.0
    assert fit.calibration.n_triggers == 6 and fit.calibration.n_samples == 3


def test_fit_threshold_prefers_kappa_then_accuracy_then_the_lower_threshold() -> None:
    # a judge that is constant at the best accuracy (all "no") has kappa 0: the fit takes the
    # threshold that agrees beyond chance even at a lower accuracy
    human = {"a": [True, False, False, False, False, False]}
    scores = {"a": [0.8, 0.9, 0.1, 0.1, 0.1, 0.1]}
    fit = fit_threshold(human, scores)
    assert fit.threshold == pytest.approx(0.45)  # covers 0.8 and 0.9: kappa 0.57, accuracy 0.83
    assert fit.calibration.kappa == pytest.approx(4 / 7)
    # scores that cannot be told apart: every threshold gives kappa 0, the lowest one wins
    tied = fit_threshold({"a": [True, False]}, {"a": [0.7, 0.7]})
    assert tied.threshold == pytest.approx(0.2) and tied.calibration.kappa == 0.0


def test_fit_threshold_without_shared_scores_is_an_error() -> None:
    with pytest.raises(EIBenchError, match="no audited answer"):
        fit_threshold({"a": [True]}, {"a": [0.1, 0.2]})


def test_calibration_intervals_hold_the_figures_and_resample_answers_whole() -> None:
    from eibench.review.calibration import agreement_intervals, calibrate

    rng = __import__("random").Random(3)
    human = {str(i): [rng.random() < 0.5 for _ in range(5)] for i in range(60)}
    judge = {s: [h if rng.random() < 0.8 else not h for h in flags] for s, flags in human.items()}
    result = calibrate(human, judge)
    for name in ("kappa", "accuracy", "mean_abs_recall_diff"):
        low, high = result.intervals[name]
        assert low <= getattr(result, name) <= high and low < high, name
    pairs = [(human[s], judge[s]) for s in human]
    assert agreement_intervals(pairs, seed=1) == agreement_intervals(pairs, seed=1)
    assert agreement_intervals(pairs[:1]) == {}  # one answer: nothing to resample
    # a judge that agrees everywhere: every replicate agrees too
    perfect = calibrate(human, human)
    assert perfect.intervals["accuracy"] == (1.0, 1.0) and perfect.intervals["kappa"] == (1.0, 1.0)
