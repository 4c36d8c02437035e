"""Bootstrap intervals and paired tests: reproducibility, edge cases, coverage, properties."""

from __future__ import annotations

import itertools
import math
from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eibench.metrics import stats
from eibench.metrics.stats import Interval, bootstrap_macro, bootstrap_mean, paired_test

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
recalls = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=40)
fast = settings(max_examples=60, deadline=None)
Method = Literal["permutation", "bootstrap"]


def _scores(n: int, seed: int, mean: float = 0.5) -> list[float]:
    """Recall-like scores: k found out of m triggers."""
    rng = np.random.default_rng(seed)
    m = rng.integers(1, 6, size=n)
    return list(rng.binomial(m, mean) / m)


# --- bootstrap_mean ---------------------------------------------------------------------------


def test_same_seed_gives_identical_interval() -> None:
    values = _scores(300, 1)
    assert bootstrap_mean(values, seed=7) == bootstrap_mean(values, seed=7)


def test_different_seed_gives_different_bounds() -> None:
    values = _scores(300, 1)
    first, second = bootstrap_mean(values, seed=1), bootstrap_mean(values, seed=2)
    assert first.estimate == second.estimate
    assert (first.low, first.high) != (second.low, second.high)


def test_interval_brackets_estimate_and_is_narrower_with_more_data() -> None:
    small = bootstrap_mean(_scores(50, 3))
    large = bootstrap_mean(_scores(2000, 3))
    for interval in (small, large):
        assert interval.low < interval.estimate < interval.high
        assert interval.level == 0.95
    assert large.high - large.low < small.high - small.low
    assert large.n == 2000


def test_higher_level_gives_wider_interval() -> None:
    values = _scores(200, 4)
    narrow = bootstrap_mean(values, level=0.8)
    wide = bootstrap_mean(values, level=0.99)
    assert wide.low < narrow.low and narrow.high < wide.high


def test_empty_input_gives_nan_interval() -> None:
    interval = bootstrap_mean([])
    assert interval.n == 0
    assert all(math.isnan(v) for v in (interval.estimate, interval.low, interval.high))


def test_single_value_gives_zero_width_interval() -> None:
    assert bootstrap_mean([0.25]) == Interval(0.25, 0.25, 0.25, 1)


def test_constant_values_give_exact_zero_width_interval() -> None:
    interval = bootstrap_mean([0.1] * 37)
    assert interval.low == interval.estimate == interval.high == 0.1


def test_bad_options_and_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="level"):
        bootstrap_mean([1.0, 2.0], level=1.0)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_mean([1.0, 2.0], resamples=0)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_mean([1.0, math.nan])


def test_interval_covers_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2024)
    true_mean = 0.3  # Bernoulli(0.3)
    covered = 0
    for seed in range(200):
        data = rng.binomial(1, true_mean, size=60).astype(float)
        interval = bootstrap_mean(list(data), resamples=1000, seed=seed)
        covered += interval.low <= true_mean <= interval.high
    assert 0.88 <= covered / 200 <= 0.99


@pytest.mark.parametrize("chunk", [1, 7, 1000, 1 << 30])
def test_results_do_not_depend_on_chunk_size(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    values = _scores(120, 5)
    groups = ["joy"] * 10 + ["anger"] * 30 + ["fear"] * 80
    other = _scores(120, 6)
    expected = (
        bootstrap_mean(values, resamples=300),
        bootstrap_macro(values, groups, resamples=300),
        paired_test(values, other, resamples=300),
        paired_test(values, other, method="bootstrap", resamples=300),
    )
    monkeypatch.setattr(stats, "CHUNK_ELEMENTS", chunk)
    assert (
        bootstrap_mean(values, resamples=300),
        bootstrap_macro(values, groups, resamples=300),
        paired_test(values, other, resamples=300),
        paired_test(values, other, method="bootstrap", resamples=300),
    ) == expected


@fast
@given(recalls)
def test_bounds_stay_within_data_range(values: list[float]) -> None:
    interval = bootstrap_mean(values, resamples=200)
    assert min(values) <= interval.low <= interval.high <= max(values)
    assert min(values) <= interval.estimate <= max(values)


@fast
@given(st.lists(finite, min_size=1, max_size=30), finite)
def test_shifting_values_shifts_interval(values: list[float], shift: float) -> None:
    base = bootstrap_mean(values, resamples=200, seed=3)
    moved = bootstrap_mean([v + shift for v in values], resamples=200, seed=3)
    tol = 1e-9 * (1.0 + abs(shift) + max(abs(v) for v in values))
    assert moved.estimate == pytest.approx(base.estimate + shift, abs=tol)
    assert moved.low == pytest.approx(base.low + shift, abs=tol)
    assert moved.high == pytest.approx(base.high + shift, abs=tol)


# --- bootstrap_macro --------------------------------------------------------------------------


def test_macro_differs_from_micro_on_unbalanced_groups() -> None:
    values = [1.0] * 10 + [0.0] * 90
    groups = ["joy"] * 10 + ["sad"] * 90
    micro = bootstrap_mean(values)
    macro = bootstrap_macro(values, groups)
    assert micro.estimate == pytest.approx(0.1)
    assert macro.estimate == pytest.approx(0.5)
    assert macro.n == micro.n == 100


def test_macro_resampling_keeps_every_group_in_every_replicate() -> None:
    # One "rare" sample scoring 1, 99 "common" samples scoring 0. Every stratified replicate
    # has rare mean 1 and common mean 0, so the macro interval has zero width; a plain
    # bootstrap would drop the rare sample in about 37% of replicates.
    values = [1.0] + [0.0] * 99
    groups = ["rare"] + ["common"] * 99
    interval = bootstrap_macro(values, groups)
    assert interval.low == interval.estimate == interval.high == 0.5


@fast
@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.sampled_from("abc")), min_size=1, max_size=40))
def test_macro_estimate_is_mean_of_group_means(pairs: list[tuple[float, str]]) -> None:
    values = [v for v, _ in pairs]
    groups = [g for _, g in pairs]
    by_group: dict[str, list[float]] = {}
    for v, g in pairs:
        by_group.setdefault(g, []).append(v)
    expected = float(np.mean([np.mean(vs) for vs in by_group.values()]))
    interval = bootstrap_macro(values, groups, resamples=100)
    assert interval.estimate == pytest.approx(expected, abs=1e-12)
    assert interval.low <= interval.high


def test_macro_reproducible_and_seed_sensitive() -> None:
    values = _scores(200, 8)
    groups = [("a", "b", "c", "d")[i % 4] for i in range(200)]
    assert bootstrap_macro(values, groups, seed=1) == bootstrap_macro(values, groups, seed=1)
    assert bootstrap_macro(values, groups, seed=1) != bootstrap_macro(values, groups, seed=2)


def test_macro_edge_cases() -> None:
    empty = bootstrap_macro([], [])
    assert empty.n == 0 and math.isnan(empty.estimate) and math.isnan(empty.low)
    assert bootstrap_macro([0.4], ["joy"]) == Interval(0.4, 0.4, 0.4, 1)
    with pytest.raises(ValueError, match="groups"):
        bootstrap_macro([0.1, 0.2], ["joy"])


# --- paired_test ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["permutation", "bootstrap"])
def test_clearly_different_runs_give_small_p(method: Method) -> None:
    a = _scores(300, 10, mean=0.3)
    b = [min(1.0, v + 0.2) for v in a]
    result = paired_test(a, b, method=method)
    assert result.p_value < 0.001
    assert result.diff < 0 and result.high < 0
    assert result.low <= result.diff <= result.high
    assert result.p_value >= 1 / (1 + 10000)


@pytest.mark.parametrize("method", ["permutation", "bootstrap"])
def test_runs_from_the_same_distribution_give_large_p(method: Method) -> None:
    a, b = _scores(300, 11), _scores(300, 12)
    result = paired_test(a, b, method=method)
    assert result.p_value > 0.1
    assert result.low < 0 < result.high
    # Swapped halves: the differences cancel exactly, so nothing is more extreme than 0.
    balanced = paired_test(a + b, b + a, method=method)
    assert balanced.diff == pytest.approx(0.0, abs=1e-12)
    assert balanced.p_value == 1.0


def test_permutation_p_matches_exact_enumeration() -> None:
    d = np.array([0.3, -0.1, 0.25, 0.2, 0.0, 0.4, -0.2, 0.15, 0.1, 0.05])
    observed = abs(d.mean())
    flips = np.array(list(itertools.product([1, -1], repeat=d.size)))
    exact = float(np.mean(np.abs((flips * d).mean(axis=1)) >= observed - 1e-12))
    result = paired_test(list(d), [0.0] * d.size, resamples=20000, seed=4)
    assert result.p_value == pytest.approx(exact, abs=0.01)


def test_interval_is_the_same_for_both_methods() -> None:
    a, b = _scores(100, 13), _scores(100, 14)
    perm = paired_test(a, b, seed=5)
    boot = paired_test(a, b, method="bootstrap", seed=5)
    assert (perm.low, perm.high, perm.diff) == (boot.low, boot.high, boot.diff)
    assert perm.method == "permutation" and boot.method == "bootstrap"


def test_paired_test_reports_means_and_is_reproducible() -> None:
    a, b = _scores(80, 15), _scores(80, 16)
    result = paired_test(a, b, seed=9)
    assert result == paired_test(a, b, seed=9)
    assert result != paired_test(a, b, seed=10)
    assert result.n == 80
    assert result.mean_a == pytest.approx(np.mean(a))
    assert result.mean_b == pytest.approx(np.mean(b))
    assert result.diff == pytest.approx(np.mean(a) - np.mean(b))


def test_paired_test_edge_cases() -> None:
    with pytest.raises(ValueError, match="paired"):
        paired_test([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="method"):
        paired_test([0.1], [0.2], method="t-test")  # type: ignore[arg-type]
    empty = paired_test([], [])
    assert empty.n == 0
    assert all(math.isnan(v) for v in (empty.diff, empty.low, empty.high, empty.p_value))
    one = paired_test([0.75], [0.25], method="bootstrap")
    assert (one.n, one.diff, one.low, one.high, one.p_value) == (1, 0.5, 0.5, 0.5, 1.0)


@fast
@given(recalls, st.sampled_from(["permutation", "bootstrap"]))
def test_run_against_itself_has_no_difference(values: list[float], method: Method) -> None:
    result = paired_test(values, values, method=method, resamples=200)
    assert (result.diff, result.low, result.high, result.p_value) == (0.0, 0.0, 0.0, 1.0)


@fast
@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=2, max_size=40))
def test_permutation_p_in_unit_interval_and_swap_is_antisymmetric(
    pairs: list[tuple[float, float]],
) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    forward = paired_test(a, b, resamples=200)
    backward = paired_test(b, a, resamples=200)
    assert 0.0 < forward.p_value <= 1.0
    assert forward.p_value == backward.p_value
    assert backward.diff == pytest.approx(-forward.diff, abs=1e-12)
    assert backward.low == pytest.approx(-forward.high, abs=1e-12)
    assert backward.high == pytest.approx(-forward.low, abs=1e-12)
