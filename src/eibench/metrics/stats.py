"""Confidence intervals and paired tests for per-sample scores.

Everything here is a pure function of its arguments: the same inputs and `seed` give the same
result on every call. Resampling is vectorised with numpy and done in chunks of at most
`CHUNK_ELEMENTS` random draws, so memory stays bounded (about 32 MB per chunk) however many
samples and resamples there are. The random stream is consumed in the same order whatever the
chunk size, so the chunk size never changes a result.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

CHUNK_ELEMENTS = 1 << 21
"""Random draws per chunk: 2 Mi int64 indices plus the 2 Mi values they pick, about 32 MB."""

_TIE_RTOL = 1e-9
"""Replicates within this fraction of the data's scale of the observed statistic count as ties
(as extreme as it), so floating-point rounding cannot turn a tie into a miss."""

NAN = math.nan

PairedMethod = Literal["permutation", "bootstrap"]


@dataclass(frozen=True)
class Interval:
    """A statistic with its percentile-bootstrap confidence interval.

    `estimate` is the statistic on the data (nan when `n` is 0); `low` and `high` are the
    bootstrap bounds at confidence `level` (equal to `estimate` when `n` is 1, nan when `n` is
    0); `n` is the number of values it was computed from.
    """

    estimate: float
    low: float
    high: float
    n: int
    level: float = 0.95


@dataclass(frozen=True)
class PairedTest:
    """Two runs compared on the samples they share.

    `diff` is mean(a - b), `low`/`high` its paired-bootstrap confidence interval at `level`,
    `p_value` the two-sided p-value for "no difference" by `method`.
    """

    n: int
    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    p_value: float
    method: str
    level: float = 0.95


def bootstrap_mean(
    values: Sequence[float], *, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> Interval:
    """The mean of `values` with a percentile-bootstrap confidence interval.

    Args:
        values: one score per sample (finite numbers).
        resamples: bootstrap replicates to draw.
        seed: seed of the random stream; the same seed gives the same interval.
        level: confidence level of the interval, between 0 and 1.
    """
    _check_options(resamples, level)
    x = _as_array(values, "values")
    n = int(x.size)
    if n == 0:
        return Interval(NAN, NAN, NAN, 0, level)
    estimate = _clipped_mean(x)
    if n == 1:
        return Interval(estimate, estimate, estimate, 1, level)
    means = _bootstrap_means(x, resamples, np.random.default_rng(seed))
    low, high = _percentile_bounds(means, level)
    return Interval(estimate, low, high, n, level)


def bootstrap_macro(
    values: Sequence[float],
    groups: Sequence[str],
    *,
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """The macro mean (mean of the per-group means) with a stratified bootstrap interval.

    Each replicate resamples every group within itself, keeping the group sizes, so every
    replicate has every group. Each group draws from its own random stream (spawned from
    `seed`, groups taken in sorted order).

    Args:
        values: one score per sample (finite numbers).
        groups: the group (e.g. emotion category) of each sample, aligned with `values`.
        resamples: bootstrap replicates to draw.
        seed: seed of the random streams; the same seed gives the same interval.
        level: confidence level of the interval, between 0 and 1.

    Raises:
        ValueError: when `values` and `groups` differ in length.
    """
    _check_options(resamples, level)
    x = _as_array(values, "values")
    labels = list(groups)
    if len(labels) != x.size:
        raise ValueError(f"values has {x.size} items but groups has {len(labels)}")
    n = int(x.size)
    if n == 0:
        return Interval(NAN, NAN, NAN, 0, level)
    members: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
    parts = [x[np.asarray(members[name], dtype=np.intp)] for name in sorted(members)]
    estimate = float(np.mean([_clipped_mean(part) for part in parts]))
    if n == 1:
        return Interval(estimate, estimate, estimate, 1, level)
    streams = np.random.SeedSequence(seed).spawn(len(parts))
    total = np.zeros(resamples)
    for part, stream in zip(parts, streams, strict=True):
        total += _bootstrap_means(part, resamples, np.random.default_rng(stream))
    low, high = _percentile_bounds(total / len(parts), level)
    return Interval(estimate, low, high, n, level)


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    method: PairedMethod = "permutation",
    resamples: int = 10000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedTest:
    """Test whether two runs differ, pairing `a[i]` with `b[i]` (the same sample in each run).

    The confidence interval of the mean difference is always the percentile interval of a
    paired bootstrap (pairs resampled together); it does not depend on `method`.

    `method` picks the p-value:

    - ``"permutation"``: a sign-flip test. Under "no difference" each paired difference is as
      likely to have either sign, so each replicate flips the signs at random;
      p = (1 + #{|replicate mean| >= |observed mean|}) / (1 + resamples), so 0 < p <= 1.
    - ``"bootstrap"``: shift-to-null. The paired-bootstrap distribution of the mean difference,
      re-centred on zero, stands in for its distribution under "no difference";
      p = (1 + #{|replicate - observed| >= |observed|}) / (1 + resamples). It assumes the
      bootstrap spread fits the data, which is weak for few pairs: prefer the permutation test
      there. With one pair there is no evidence either way and p is 1 for both methods.

    Args:
        a: per-sample scores of the first run.
        b: per-sample scores of the second run, aligned with `a`.
        method: how the p-value is computed, see above.
        resamples: replicates for the p-value and for the interval.
        seed: seed of the random streams; the same seed gives the same result.
        level: confidence level of the interval, between 0 and 1.

    Raises:
        ValueError: when `a` and `b` differ in length or `method` is unknown.
    """
    _check_options(resamples, level)
    if method not in ("permutation", "bootstrap"):
        raise ValueError(f"method must be 'permutation' or 'bootstrap', not {method!r}")
    x = _as_array(a, "a")
    y = _as_array(b, "b")
    if x.size != y.size:
        raise ValueError(f"a has {x.size} items but b has {y.size}: the runs must be paired")
    n = int(x.size)
    if n == 0:
        return PairedTest(0, NAN, NAN, NAN, NAN, NAN, NAN, method, level)
    d = x - y
    diff = _clipped_mean(d)
    mean_a, mean_b = float(x.mean()), float(y.mean())
    if n == 1:
        return PairedTest(1, mean_a, mean_b, diff, diff, diff, 1.0, method, level)
    boot_stream, flip_stream = np.random.SeedSequence(seed).spawn(2)
    boot = _bootstrap_means(d, resamples, np.random.default_rng(boot_stream))
    low, high = _percentile_bounds(boot, level)
    tolerance = _TIE_RTOL * float(np.max(np.abs(d)))
    if method == "permutation":
        flipped = _sign_flip_means(d, resamples, np.random.default_rng(flip_stream))
        extreme = np.abs(flipped) >= abs(diff) - tolerance
    else:
        extreme = np.abs(boot - diff) >= abs(diff) - tolerance
    p_value = (1.0 + float(np.count_nonzero(extreme))) / (1.0 + resamples)
    return PairedTest(n, mean_a, mean_b, diff, low, high, p_value, method, level)


def _check_options(resamples: int, level: float) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, not {level}")


def _as_array(values: Sequence[float], name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers (drop unscored samples first)")
    return array


def _clipped_mean(x: FloatArray) -> float:
    """The mean, kept inside [min, max] where rounding would push it out (e.g. constant data)."""
    return float(np.clip(x.mean(), x.min(), x.max()))


def _chunks(resamples: int, width: int) -> Iterator[int]:
    """Row counts of the chunks that `resamples` rows of `width` draws are split into."""
    rows = max(1, CHUNK_ELEMENTS // max(width, 1))
    for start in range(0, resamples, rows):
        yield min(rows, resamples - start)


def _bootstrap_means(x: FloatArray, resamples: int, rng: np.random.Generator) -> FloatArray:
    """`resamples` means of `x` resampled with replacement, clipped to [min(x), max(x)]."""
    n = int(x.size)
    means = np.empty(resamples)
    start = 0
    for rows in _chunks(resamples, n):
        index = rng.integers(0, n, size=(rows, n))
        means[start : start + rows] = x[index].mean(axis=1)
        start += rows
    return np.clip(means, x.min(), x.max(), out=means)


def _sign_flip_means(d: FloatArray, resamples: int, rng: np.random.Generator) -> FloatArray:
    """`resamples` means of `d` with each element's sign flipped at random."""
    n = int(d.size)
    means = np.empty(resamples)
    start = 0
    for rows in _chunks(resamples, n):
        flip = rng.integers(0, 2, size=(rows, n)).astype(bool)
        means[start : start + rows] = np.where(flip, -d, d).mean(axis=1)
        start += rows
    return means


def _percentile_bounds(replicates: FloatArray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return float(low), float(high)
