"""Agreement coefficients against hand-computed and published values."""

from __future__ import annotations

import itertools
import math
import sys
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eibench.errors import EIBenchError
from eibench.metrics.agreement import (
    Level,
    PairAgreement,
    cohen_kappa,
    judge_agreement,
    krippendorff_alpha,
    pearson,
    spearman,
)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", reliability data with
# missing values: 4 observers x 12 units. Published: nominal .743, ordinal .815,
# interval .849, ratio .797.
KRIPPENDORFF_EXAMPLE: list[list[float | None]] = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _reference_alpha(data: list[list[float | None]], distance: str) -> float:
    """Alpha from its definition, pair by pair: 1 - D_o / D_e, where D_o averages the distance
    within units (each unit's ordered pairs weighted 1 / (m_u - 1)) and D_e averages it over
    every ordered pair of pairable values."""

    def delta(c: float, k: float) -> float:
        if distance == "nominal":
            return float(c != k)
        if distance == "interval":
            return (c - k) ** 2
        return ((c - k) / (c + k)) ** 2  # ratio

    units = [[row[u] for row in data if row[u] is not None] for u in range(len(data[0]))]
    pairable = [[float(v) for v in unit if v is not None] for unit in units if len(unit) >= 2]
    pooled = [v for unit in pairable for v in unit]
    n = len(pooled)
    within = sum(
        sum(delta(c, k) for c, k in itertools.permutations(unit, 2)) / (len(unit) - 1)
        for unit in pairable
    )
    between = sum(delta(c, k) for c, k in itertools.permutations(pooled, 2))
    return 1.0 - (n - 1) * within / between


# --- Cohen's kappa ----------------------------------------------------------------------------


def test_kappa_matches_hand_computed_two_by_two_table() -> None:
    # 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no: p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5.
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_with_three_labels_matches_hand_computation() -> None:
    a = [0, 0, 1, 1, 2, 2]
    b = [0, 1, 1, 1, 2, 0]
    # p_o = 4/6; p_e = (2*2 + 2*3 + 2*1) / 36 = 12/36.
    assert cohen_kappa(a, b) == pytest.approx((4 / 6 - 1 / 3) / (1 - 1 / 3))


def test_kappa_extremes_and_degenerate_cases() -> None:
    assert cohen_kappa([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0
    assert cohen_kappa([0, 1, 0, 1], [1, 0, 1, 0]) == pytest.approx(-1.0)
    assert cohen_kappa([True, True, True], [True, True, True]) == 1.0  # both constant, equal
    assert cohen_kappa([1, 1, 1, 1], [1, 0, 1, 0]) == 0.0  # one constant rater
    assert cohen_kappa([1, 1], [0, 0]) == 0.0  # both constant, different
    assert math.isnan(cohen_kappa([], []))
    with pytest.raises(ValueError, match="aligned"):
        cohen_kappa([1, 0], [1])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=50))
def test_kappa_is_symmetric_bounded_and_ignores_label_names(pairs: list[tuple[int, int]]) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    kappa = cohen_kappa(a, b)
    assert kappa == pytest.approx(cohen_kappa(b, a))
    assert -1.0 - 1e-12 <= kappa <= 1.0 + 1e-12
    assert kappa == pytest.approx(cohen_kappa([10 * x + 7 for x in a], [10 * y + 7 for y in b]))
    assert cohen_kappa(a, a) == 1.0


# --- Krippendorff's alpha ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_alpha_matches_krippendorffs_published_example(level: Level, published: float) -> None:
    alpha = krippendorff_alpha(KRIPPENDORFF_EXAMPLE, level)
    assert alpha == pytest.approx(published, abs=5e-4)


@pytest.mark.parametrize("level", ["nominal", "interval", "ratio"])
def test_alpha_matches_definition_computed_by_hand(level: Level) -> None:
    expected = _reference_alpha(KRIPPENDORFF_EXAMPLE, level)
    assert krippendorff_alpha(KRIPPENDORFF_EXAMPLE, level) == pytest.approx(expected, abs=1e-12)


def test_alpha_nominal_example_matches_coincidence_counts_by_hand() -> None:
    # 40 pairable values (unit 12 has one): n_1..n_5 = 9, 13, 10, 5, 3, so the expected
    # disagreements sum to 40**2 - (81 + 169 + 100 + 25 + 9) = 1216. Observed disagreements:
    # unit 2 (2,3,2,2) 6 / 3, unit 6 (1,2,3,4) 12 / 3, unit 8 (1,1,2,1) 6 / 3 = 8 in all.
    by_hand = 1 - 39 * 8 / 1216  # = 113 / 152 = 0.7434...
    assert krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "nominal") == pytest.approx(by_hand)
    assert _reference_alpha(KRIPPENDORFF_EXAMPLE, "nominal") == pytest.approx(by_hand)


def test_alpha_is_one_for_perfect_agreement_and_nan_when_undefined() -> None:
    assert krippendorff_alpha([[0.0, 0.5, 1.0], [0.0, 0.5, 1.0]]) == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha([[0.1, 0.2, 0.3]]))  # one rater
    assert math.isnan(krippendorff_alpha([]))
    assert math.isnan(krippendorff_alpha([[0.1, None], [None, 0.2]]))  # nothing pairable
    assert math.isnan(krippendorff_alpha([[0.5, 0.5, 0.9], [0.5, 0.5, None]]))  # no variation
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha([[1.0], [1.0]], "cardinal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="row"):
        krippendorff_alpha([[1.0, 2.0], [1.0]])


def test_missing_dependency_is_one_actionable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "krippendorff", None)
    with pytest.raises(EIBenchError, match=r"eibench\[stats\]"):
        krippendorff_alpha([[0.0, 1.0], [0.0, 1.0]])
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    with pytest.raises(EIBenchError, match=r"eibench\[stats\]"):
        pearson([0.0, 1.0], [0.0, 1.0])


# --- Pearson and Spearman ---------------------------------------------------------------------


def test_pearson_matches_hand_computation() -> None:
    # dx = -2..2, dy = -2, 0, 1, 0, 1: r = 6 / sqrt(10 * 6).
    assert pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]) == pytest.approx(6 / math.sqrt(60))
    assert pearson([1, 2, 3], [3, 5, 7]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [7, 5, 3]) == pytest.approx(-1.0)


def test_spearman_uses_ranks_with_average_ties() -> None:
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert spearman(x, [v**3 for v in x]) == pytest.approx(1.0)
    assert pearson(x, [v**3 for v in x]) < 0.99
    # y ranks 1.5, 1.5, 3.5, 3.5 against 1..4: r = 4 / sqrt(5 * 4).
    assert spearman([1, 2, 3, 4], [1, 1, 2, 2]) == pytest.approx(4 / math.sqrt(20))


@pytest.mark.filterwarnings("error")
def test_correlations_are_nan_without_warnings_when_undefined() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for func in (pearson, spearman):
            assert math.isnan(func([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]))  # constant input
            assert math.isnan(func([0.1, 0.2], [0.4, 0.4]))
            assert math.isnan(func([0.3], [0.4]))  # n < 2
            assert math.isnan(func([], []))
            with pytest.raises(ValueError, match="paired"):
                func([0.1, 0.2], [0.3])


# --- judge_agreement --------------------------------------------------------------------------


def test_judge_agreement_on_small_panel_with_missing_samples() -> None:
    scores = {
        "gpt": {"s1": 1.0, "s2": 0.5, "s3": 0.0, "s5": 0.7},
        "claude": {"s1": 0.8, "s2": 0.5, "s4": 1.0},
        "qwen": {"s1": 1.0, "s3": 0.2, "s4": 0.9},
    }
    result = judge_agreement(scores)
    assert result.judges == ("gpt", "claude", "qwen")
    assert result.n_units == 5
    assert result.level == "interval"
    # Pairable values 1, .8, 1 | .5, .5 | 0, .2 | 1, .9 (s5 has one judge and drops out).
    # Within-unit sum: s1 (.04 * 4) / 2 + s3 .04 * 2 + s4 .01 * 2 = 0.18.
    # All ordered pairs: 2 * n * sum of squared deviations = 2 * 9 * (4.99 - 5.9**2 / 9) = 20.2.
    assert result.alpha == pytest.approx(1 - 8 * 0.18 / 20.2)
    pairs = {(p.judge_a, p.judge_b): p for p in result.pairs}
    assert list(pairs) == [("gpt", "claude"), ("gpt", "qwen"), ("claude", "qwen")]
    assert [p.n for p in result.pairs] == [2, 2, 2]
    assert pairs["gpt", "claude"].pearson == pytest.approx(1.0)
    assert pairs["claude", "qwen"].pearson == pytest.approx(-1.0)
    assert pairs["claude", "qwen"].spearman == pytest.approx(-1.0)


def test_judge_agreement_pairs_with_too_few_shared_samples_are_nan() -> None:
    scores = {"a": {"x": 0.1, "y": 0.9, "z": 0.4}, "b": {"x": 0.2, "w": 0.3}}
    result = judge_agreement(scores, level="ratio")
    (pair,) = result.pairs
    assert pair == PairAgreement("a", "b", 1, pair.pearson, pair.spearman)
    assert math.isnan(pair.pearson) and math.isnan(pair.spearman)
    assert result.n_units == 4
    # One pairable unit (x: .1, .2): its only disagreement is all the disagreement there is,
    # so D_o = D_e and alpha = 0.
    assert result.alpha == pytest.approx(0.0)


def test_judge_agreement_rejects_unknown_level() -> None:
    with pytest.raises(ValueError, match="level"):
        judge_agreement({"a": {"x": 1.0}}, level="cardinal")
