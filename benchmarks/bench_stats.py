"""Speed of the statistics behind `eibench score` and `eibench compare`.

    python -m benchmarks.bench_stats [--resamples 2000] [--test-resamples 10000] [--seed 0]

Builds 1,615 basic-like samples in 4 emotion categories (91, 342, 462 and 720 samples), each
with 1 to 5 ground-truth triggers, and the per-sample recall of two seeded runs that share a
per-trigger difficulty (so their scores are correlated). Times what `eibench score` shows for
each run (a bootstrap interval per category, the micro overall and the stratified macro
overall) and what `eibench compare` shows for the pair (the paired test, both methods).
Prints one line per step and the total; the target is a total under 5 s.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Literal

import numpy as np

from eibench.metrics.stats import Interval, PairedTest, bootstrap_macro, bootstrap_mean, paired_test

CATEGORIES = {"Happy": 91, "Angry": 342, "Sadness": 462, "Excitement": 720}
TARGET_S = 5.0


def make_runs(seed: int) -> tuple[list[str], list[float], list[float]]:
    """Category per sample and the recall of runs A and B.

    A trigger is found by a run when its shared difficulty falls under the run's skill, so the
    two runs agree on easy and hard triggers; run B is a little stronger than run A.
    """
    rng = np.random.default_rng(seed)
    groups = [name for name, size in CATEGORIES.items() for _ in range(size)]
    triggers = rng.integers(1, 6, size=len(groups))
    recall_a: list[float] = []
    recall_b: list[float] = []
    for total in triggers:
        difficulty = rng.random(total)
        noise = rng.normal(0.0, 0.1, size=(2, total))
        recall_a.append(float(np.mean(difficulty + noise[0] < 0.55)))
        recall_b.append(float(np.mean(difficulty + noise[1] < 0.56)))
    return groups, recall_a, recall_b


def _timed(label: str, rows: list[tuple[str, float, str]], step: Callable[[], str]) -> None:
    start = time.perf_counter()
    shown = step()
    rows.append((label, time.perf_counter() - start, shown))


def _show(interval: Interval) -> str:
    return f"{interval.estimate:.4f} [{interval.low:.4f}, {interval.high:.4f}]  n={interval.n}"


def _mean(values: Sequence[float], resamples: int) -> str:
    return _show(bootstrap_mean(values, resamples=resamples))


def _macro(values: Sequence[float], groups: Sequence[str], resamples: int) -> str:
    return _show(bootstrap_macro(values, groups, resamples=resamples))


def _paired(
    a: Sequence[float],
    b: Sequence[float],
    method: Literal["permutation", "bootstrap"],
    resamples: int,
) -> str:
    test: PairedTest = paired_test(a, b, method=method, resamples=resamples)
    return f"diff {test.diff:+.4f} [{test.low:+.4f}, {test.high:+.4f}]  p={test.p_value:.4g}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resamples", type=int, default=2000, help="per interval")
    parser.add_argument("--test-resamples", type=int, default=10000, help="per paired test")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    groups, recall_a, recall_b = make_runs(args.seed)
    r = args.resamples
    rows: list[tuple[str, float, str]] = []
    for run, values in (("A", recall_a), ("B", recall_b)):
        for name in CATEGORIES:
            part = [v for v, g in zip(values, groups, strict=True) if g == name]
            _timed(f"run {run} {name}", rows, partial(_mean, part, r))
        _timed(f"run {run} micro", rows, partial(_mean, values, r))
        _timed(f"run {run} macro", rows, partial(_macro, values, groups, r))
    methods: tuple[Literal["permutation", "bootstrap"], ...] = ("permutation", "bootstrap")
    for method in methods:
        step = partial(_paired, recall_a, recall_b, method, args.test_resamples)
        _timed(f"A vs B {method}", rows, step)

    total = sum(seconds for _, seconds, _ in rows)
    print(
        f"samples {len(groups)}  categories {', '.join(f'{k} {v}' for k, v in CATEGORIES.items())}"
    )
    print(f"intervals: {r} resamples each; paired tests: {args.test_resamples} resamples each\n")
    print(f"{'step':<24}{'seconds':>9}  result")
    for label, seconds, shown in rows:
        print(f"{label:<24}{seconds:>9.3f}  {shown}")
    verdict = "ok" if total < TARGET_S else "OVER TARGET"
    print(f"{'total':<24}{total:>9.3f}  (target < {TARGET_S:.0f} s: {verdict})")


if __name__ == "__main__":
    main()
