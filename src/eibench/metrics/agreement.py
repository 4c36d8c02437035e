"""Agreement between judges: Cohen's kappa, Krippendorff's alpha, Pearson and Spearman.

Every coefficient returns nan where it is undefined (too few values, no variation) instead of
raising or warning, so a table of many judge pairs can show "n/a" for the odd one out. scipy
and krippendorff come with the optional `stats` extra and are imported only when needed.
"""

from __future__ import annotations

import importlib
import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray

from eibench.errors import EIBenchError

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")


@dataclass(frozen=True)
class PairAgreement:
    """Correlation of two judges' per-sample scores over the `n` samples both scored."""

    judge_a: str
    judge_b: str
    n: int
    pearson: float
    spearman: float


@dataclass(frozen=True)
class Agreement:
    """Agreement of a panel of judges.

    `alpha` is Krippendorff's alpha at measurement `level` over `n_units` samples (the union of
    the samples any judge scored); `pairs` holds every pair of judges, in `judges` order.
    """

    judges: tuple[str, ...]
    n_units: int
    alpha: float
    level: str
    pairs: tuple[PairAgreement, ...]


def cohen_kappa(a: Sequence[int | bool], b: Sequence[int | bool]) -> float:
    """Cohen's kappa of two raters' labels on the same items (numpy only).

    kappa = (p_o - p_e) / (1 - p_e), with p_o the observed share of agreement and p_e the share
    expected from each rater's own label frequencies. Degenerate cases: when both raters give
    one and the same label to every item, p_e = 1 and kappa is defined as 1.0 (full agreement);
    when either rater is constant otherwise, p_e = p_o and kappa is 0.0; with no items it is
    nan.

    Args:
        a: the first rater's label per item (e.g. trigger found or not).
        b: the second rater's label per item, aligned with `a`.

    Raises:
        ValueError: when `a` and `b` differ in length.
    """
    x = np.asarray(a, dtype=np.int64)
    y = np.asarray(b, dtype=np.int64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"a has {x.size} labels but b has {y.size}: they must be aligned")
    n = int(x.size)
    if n == 0:
        return math.nan
    _, codes = np.unique(np.concatenate([x, y]), return_inverse=True)
    codes = codes.reshape(-1)
    k = int(codes.max()) + 1
    freq_a = np.bincount(codes[:n], minlength=k) / n
    freq_b = np.bincount(codes[n:], minlength=k) / n
    observed = float(np.mean(x == y))
    expected = float(freq_a @ freq_b)
    if expected >= 1.0:
        return 1.0
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(data: Sequence[Sequence[float | None]], level: Level = "interval") -> float:
    """Krippendorff's alpha of reliability data, computed by the `krippendorff` package.

    Args:
        data: one row per judge (rater), one column per unit (sample or trigger); None marks a
            value the judge did not give. All rows must have the same length.
        level: level of measurement, which sets the distance between two values: "nominal"
            (equal or not), "ordinal", "interval" (squared difference) or "ratio".

    Returns:
        alpha, or nan when it is undefined: fewer than 2 raters, no unit valued by at least
        two raters, or no variation at all among the pairable values.

    Raises:
        ValueError: for an unknown `level` or rows of different lengths.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    rows = [list(row) for row in data]
    if len({len(row) for row in rows}) > 1:
        raise ValueError("every judge's row must have one entry per unit")
    if len(rows) < 2 or not rows[0]:
        return math.nan
    matrix = np.array(
        [[math.nan if v is None else float(v) for v in row] for row in rows], dtype=np.float64
    )
    valued = ~np.isnan(matrix)
    pairable = valued.sum(axis=0) >= 2
    if not pairable.any():
        return math.nan
    if np.unique(matrix[:, pairable][valued[:, pairable]]).size < 2:
        return math.nan
    krippendorff = _require("krippendorff")
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson's correlation of paired values (scipy); nan for fewer than 2 pairs, a non-finite
    value, or when either side is constant.

    Raises:
        ValueError: when `a` and `b` differ in length.
    """
    x, y = _paired(a, b)
    if _undefined(x, y):
        return math.nan
    stats = _require("scipy.stats")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.pearsonr(x, y).statistic)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of paired values (scipy, ties get average ranks); nan for
    fewer than 2 pairs, a non-finite value, or when either side is constant.

    Raises:
        ValueError: when `a` and `b` differ in length.
    """
    x, y = _paired(a, b)
    if _undefined(x, y):
        return math.nan
    stats = _require("scipy.stats")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.spearmanr(x, y).statistic)


def judge_agreement(
    scores: Mapping[str, Mapping[str, float]], level: str = "interval"
) -> Agreement:
    """How far a panel of judges agree on per-sample scores.

    Args:
        scores: judge name -> sample id -> that judge's score (recall) for the sample. Judges
            keep the mapping's order. A sample a judge did not score is simply absent.
        level: Krippendorff level of measurement for alpha ("nominal", "ordinal", "interval",
            "ratio").

    Returns:
        Alpha over the union of sample ids (sorted; a missing score counts as missing), and
        Pearson and Spearman for every pair of judges on the samples both scored.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    judges = tuple(scores)
    units = sorted({sample for judge in judges for sample in scores[judge]})
    data = [[scores[j].get(unit) for unit in units] for j in judges]
    alpha = krippendorff_alpha(data, cast(Level, level))
    pairs = []
    for first, second in itertools.combinations(judges, 2):
        shared = sorted(scores[first].keys() & scores[second].keys())
        x = [scores[first][s] for s in shared]
        y = [scores[second][s] for s in shared]
        pairs.append(PairAgreement(first, second, len(shared), pearson(x, y), spearman(x, y)))
    return Agreement(judges, len(units), alpha, level, tuple(pairs))


def _require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise EIBenchError(
            f"agreement statistics need {module.split('.')[0]}: pip install 'eibench[stats]'"
        ) from error


def _paired(
    a: Sequence[float], b: Sequence[float]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"a has {x.size} values but b has {y.size}: they must be paired")
    return x, y


def _undefined(x: NDArray[np.float64], y: NDArray[np.float64]) -> bool:
    if x.size < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return True
    return bool(np.all(x == x[0]) or np.all(y == y[0]))
