"""Analysis of what people said: score statistics and rater agreement for quality ratings, and
the calibration of a judge against human per-trigger labels.

Everything here is a pure function of its arguments (reading the release's score files is the
one exception, kept at the top). Bootstrap intervals are seeded: the same inputs and seed give
the same result on every call.

How the release analysis gets its figures (reproduced by `rating_report`): for each category
and each rater, take the mean and the population variance (ddof 0) of that rater's scores on
the category's items. A category's mean is the mean over raters of their means and its std the
square root of the mean over raters of their variances. Overall, the mean is the macro mean of
the category means and the std is the square root of the mean of the category variances (so of
the per-rater within-category variances). For the release's three raters this gives happy
4.282, angry 4.607, sad 4.124, excited 4.651, overall 4.416 with std 0.729 in [1, 5]; the std of
all scores pooled, or ddof 1, would not (0.848 and 0.738).

Scores are on a scale (`review.scales`): the release's files are on the paper's 1-5, a campaign's
on the scale it was created with. A report names its scale, so figures from a 0-5 campaign are
never read as 1-5 ones.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eibench.data.files import iter_jsonl
from eibench.data.schema import BASIC_EMOTIONS
from eibench.errors import DataError
from eibench.metrics.agreement import krippendorff_alpha
from eibench.metrics.stats import Interval
from eibench.review.scales import RELEASE_SCALE, Scale

Ratings = dict[str, dict[str, float]]
"""rater -> item key (image path or sample id) -> that rater's score for the item."""

LEVEL = 0.95
"""Confidence level of the bootstrap intervals."""

_CHUNK_ELEMENTS = 1 << 21
_RATER_FILE = re.compile(r"^score_(.+)\.jsonl$")


def read_release_scores(paths: Sequence[Path], scale: Scale = RELEASE_SCALE) -> Ratings:
    """Read the release's human-evaluation files into ratings.

    Each line of a file is one ``{"<image path>": "<score>"}`` object. The score is a string
    (or a JSON number) holding a number on `scale`.

    Args:
        paths: one file per rater. The rater's name comes from the file name
            ``score_<rater>.jsonl`` (the file's stem when the name has another form).
        scale: the scale of the scores: the release's 1-5, or what `scales.scale_beside` finds
            next to files that `eibench review export` wrote.

    Returns:
        rater -> image path -> score, raters and items in file order.

    Raises:
        DataError: naming file, line and key, for malformed JSON, a line that is not exactly
            one key/score pair, a non-numeric or out-of-range score, an image rated twice in
            one file, or two files with the same rater name.
    """
    ratings: Ratings = {}
    sources: dict[str, Path] = {}
    for path in paths:
        match = _RATER_FILE.match(path.name)
        rater = match.group(1) if match else path.stem
        if rater in sources:
            raise DataError(path, f"rater {rater!r} is already read from {sources[rater]}")
        sources[rater] = path
        scores: dict[str, float] = {}
        first_line: dict[str, int] = {}
        for number, pairs in iter_jsonl(path):
            if len(pairs) != 1:
                problem = f"expected one image/score pair, got {len(pairs)}"
                raise DataError(path, problem, line=number)
            key, value = pairs[0]
            if key in scores:
                problem = f"rated twice (first on line {first_line[key]})"
                raise DataError(path, problem, line=number, key=key)
            scores[key] = _parse_score(value, path, number, key, scale)
            first_line[key] = number
        ratings[rater] = scores
    return ratings


def _parse_score(value: object, path: Path, line: int, key: str, scale: Scale) -> float:
    score = math.nan
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            score = float(value)
    elif isinstance(value, float):
        score = value
    elif isinstance(value, int) and not isinstance(value, bool):
        low, high = scale.low, scale.high
        score = float(min(max(value, low - 1), high + 1))  # no float holds a huge integer
    shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
    if not math.isfinite(score):
        raise DataError(path, f"score {shown} is not a number", line=line, key=key)
    if not scale.contains(score):
        problem = f"score {shown} is outside {scale.name}, the scale of these scores"
        raise DataError(path, problem, line=line, key=key)
    return score


@dataclass(frozen=True)
class CategoryStats:
    """Scores of one category (or "overall"), computed as the release analysis does.

    `mean` is the mean over raters of each rater's mean score on the category's items; `std`
    is the square root of the mean over raters of each rater's population variance there;
    `min` and `max` are the extreme scores any rater gave; `n_items` counts the items.
    """

    category: str
    n_items: int
    mean: float
    std: float
    min: float
    max: float


@dataclass(frozen=True)
class RatingReport:
    """What a rating campaign found.

    `categories`: per-category stats, the basic emotions first (happy, angry, sad, excited,
    those present) then any other category alphabetically. `overall`: the macro mean of the
    category means, with std the square root of the mean of the category variances (see the
    module docstring). `alpha`: Krippendorff's alpha (ordinal) with a bootstrap interval over
    items. `icc`: ICC(2,1) on the items every rater scored, with a bootstrap interval over
    those items. `raters`: rater -> whole-point score -> count (every point of the scale, when
    there is one). `n_items`: items anyone scored. `n_raters`: raters. `scale`: the scale the
    scores are on (None: not said).
    """

    categories: tuple[CategoryStats, ...]
    overall: CategoryStats
    alpha: Interval
    icc: Interval
    raters: dict[str, dict[int, int]]
    n_items: int
    n_raters: int
    scale: Scale | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values: an undefined coefficient (nan) becomes None."""

        def number(value: float) -> float | None:
            return value if math.isfinite(value) else None

        def stats(s: CategoryStats) -> dict[str, Any]:
            return {"category": s.category, "n_items": s.n_items, "mean": number(s.mean),
                    "std": number(s.std), "min": s.min, "max": s.max}  # fmt: skip

        def interval(i: Interval) -> dict[str, Any]:
            return {"estimate": number(i.estimate), "low": number(i.low),
                    "high": number(i.high), "n": i.n, "level": i.level}  # fmt: skip

        return {
            "scale": None if self.scale is None else self.scale.describe(),
            "categories": [stats(c) for c in self.categories],
            "overall": stats(self.overall),
            "krippendorff_alpha_ordinal": interval(self.alpha),
            "icc_2_1": interval(self.icc),
            "raters": {r: {str(k): n for k, n in c.items()} for r, c in self.raters.items()},
            "n_items": self.n_items,
            "n_raters": self.n_raters,
        }


def rating_report(
    ratings: Ratings,
    category_of: Callable[[str], str],
    *,
    resamples: int = 1000,
    seed: int = 0,
    scale: Scale | None = None,
) -> RatingReport:
    """Score statistics and agreement of several raters' quality ratings.

    Args:
        ratings: rater -> item key -> score. A rater need not score every item: stats use what
            each rater gave, alpha treats a missing score as missing, ICC keeps only the items
            every rater scored.
        category_of: the category of an item key, e.g.
            ``lambda key: emotion_of("basic", key)`` for the release's image paths.
        resamples: bootstrap replicates for the alpha and ICC intervals.
        seed: seed of the bootstrap; alpha and ICC draw from two streams spawned from it.
        scale: the scale of the scores, named in the report (None: not said).

    Returns:
        The report; the raters' distributions count each score rounded to a whole point.

    Raises:
        ValueError: when there is no score at all, a score is off `scale`, or `resamples` is
            below 1.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    if scale is not None:
        _check_on_scale(ratings, scale)
    items = sorted({key for scores in ratings.values() for key in scores})
    if not items:
        raise ValueError("no scores to analyse: every rater's ratings are empty")
    members: dict[str, list[str]] = {}
    for key in items:
        members.setdefault(category_of(key), []).append(key)
    order = [c for c in BASIC_EMOTIONS if c in members]
    order += sorted(c for c in members if c not in BASIC_EMOTIONS)
    parts = [_category_stats(name, members[name], ratings) for name in order]
    categories = tuple(stats for stats, _ in parts)
    alpha_stream, icc_stream = np.random.SeedSequence(seed).spawn(2)
    raters = list(ratings)
    data = [[ratings[r].get(key) for key in items] for r in raters]
    complete = [key for key in items if all(key in ratings[r] for r in raters)]
    table = np.array([[ratings[r][key] for r in raters] for key in complete], dtype=np.float64)
    return RatingReport(
        categories=categories,
        overall=_overall(parts, len(items)),
        alpha=_alpha_interval(data, resamples, np.random.default_rng(alpha_stream)),
        icc=_icc_interval(table, resamples, np.random.default_rng(icc_stream)),
        raters={r: _distribution(ratings[r].values(), scale) for r in raters},
        n_items=len(items),
        n_raters=len(raters),
        scale=scale,
    )


def _overall(parts: list[tuple[CategoryStats, float]], n_items: int) -> CategoryStats:
    """The overall stats from the categories' (stats, variance): the macro mean of their means,
    the square root of the mean of their variances."""
    categories = [stats for stats, _ in parts]
    return CategoryStats(
        category="overall",
        n_items=n_items,
        mean=float(np.mean([stats.mean for stats in categories])),
        std=math.sqrt(float(np.mean([variance for _, variance in parts]))),
        min=min(stats.min for stats in categories),
        max=max(stats.max for stats in categories),
    )


def _check_on_scale(ratings: Ratings, scale: Scale) -> None:
    for rater, scores in ratings.items():
        for key, score in scores.items():
            if not scale.contains(score):
                raise ValueError(
                    f"rater {rater!r} scored {key!r} {score:g}, outside the {scale.name} scale"
                )


def _category_stats(name: str, keys: list[str], ratings: Ratings) -> tuple[CategoryStats, float]:
    """The category's stats and its variance (mean over raters of their population variances);
    raters who scored none of its items are left out."""
    means: list[float] = []
    variances: list[float] = []
    scores: list[float] = []
    for rater_scores in ratings.values():
        given = np.array([rater_scores[k] for k in keys if k in rater_scores], dtype=np.float64)
        if given.size:
            means.append(float(given.mean()))
            variances.append(float(given.var()))
            scores.extend(given.tolist())
    variance = float(np.mean(variances))
    stats = CategoryStats(
        category=name,
        n_items=len(keys),
        mean=float(np.mean(means)),
        std=math.sqrt(variance),
        min=min(scores),
        max=max(scores),
    )
    return stats, variance


def _distribution(scores: Iterable[float], scale: Scale | None) -> dict[int, int]:
    """Whole-point score -> count (half points round up), in score order; with a scale, every
    point of it (0 for those nobody gave)."""
    counts = Counter(math.floor(s + 0.5) for s in scores)
    if scale is not None:
        counts.update(dict.fromkeys(scale.points, 0))
    return dict(sorted(counts.items()))


def icc_2_1(table: Sequence[Sequence[float]] | NDArray[np.float64]) -> float:
    """ICC(2,1) of Shrout & Fleiss (1979): two-way random effects, absolute agreement, one
    rater.

    From the two-way ANOVA of the n x k table, with grand mean g, row (item) means r_i and
    column (rater) means c_j: BMS = k * sum (r_i - g)^2 / (n - 1), JMS = n * sum (c_j - g)^2 /
    (k - 1), EMS = (SS_total - SS_items - SS_raters) / ((n - 1)(k - 1)), and
    ICC(2,1) = (BMS - EMS) / (BMS + (k - 1) EMS + k (JMS - EMS) / n).

    Args:
        table: one row per item, one column per rater, every cell scored.

    Returns:
        The coefficient, or nan with fewer than 2 items or raters or when every score is equal.
    """
    values = np.asarray(table, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError("table must have one row per item and one column per rater")
    return float(_icc_2_1(values[np.newaxis])[0])


def _icc_2_1(tables: NDArray[np.float64]) -> NDArray[np.float64]:
    """ICC(2,1) of each n x k table in a (b, n, k) stack."""
    _, n, k = tables.shape
    if n < 2 or k < 2:
        return np.full(tables.shape[0], math.nan)
    grand = tables.mean(axis=(1, 2))
    ss_total = ((tables - grand[:, None, None]) ** 2).sum(axis=(1, 2))
    ss_items = k * ((tables.mean(axis=2) - grand[:, None]) ** 2).sum(axis=1)
    ss_raters = n * ((tables.mean(axis=1) - grand[:, None]) ** 2).sum(axis=1)
    bms = ss_items / (n - 1)
    jms = ss_raters / (k - 1)
    ems = np.maximum(ss_total - ss_items - ss_raters, 0.0) / ((n - 1) * (k - 1))
    denominator = bms + (k - 1) * ems + k * (jms - ems) / n
    varied = ss_total > 1e-12 * (tables**2).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        icc = (bms - ems) / denominator
    return np.where(varied, icc, math.nan)


def _icc_interval(table: NDArray[np.float64], resamples: int, rng: np.random.Generator) -> Interval:
    """ICC(2,1) of the items x raters table with a percentile bootstrap over items."""
    n = int(table.shape[0])
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, LEVEL)
    estimate = icc_2_1(table)
    replicates = np.empty(resamples)
    rows = max(1, _CHUNK_ELEMENTS // max(table.size, 1))
    for start in range(0, resamples, rows):
        count = min(rows, resamples - start)
        index = rng.integers(0, n, size=(count, n))
        replicates[start : start + count] = _icc_2_1(table[index])
    return _interval(estimate, replicates, n)


def _alpha_interval(
    data: list[list[float | None]], resamples: int, rng: np.random.Generator
) -> Interval:
    """Ordinal Krippendorff's alpha of the raters x items data with a bootstrap over items."""
    n = len(data[0]) if data else 0
    estimate = krippendorff_alpha(data, "ordinal")
    replicates = np.empty(resamples)
    for i in range(resamples):
        index = rng.integers(0, n, size=n)
        replicates[i] = krippendorff_alpha([[row[j] for j in index] for row in data], "ordinal")
    return _interval(estimate, replicates, n)


def _interval(estimate: float, replicates: NDArray[np.float64], n: int) -> Interval:
    """Percentile bounds of the finite replicates (a resample with no variation has none)."""
    finite = replicates[np.isfinite(replicates)]
    if math.isnan(estimate) or finite.size == 0:
        return Interval(estimate, math.nan, math.nan, n, LEVEL)
    tail = (1.0 - LEVEL) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return Interval(estimate, float(low), float(high), n, LEVEL)
