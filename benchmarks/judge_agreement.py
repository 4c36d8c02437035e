"""How far the offline judge can be trusted: its agreement with the labelled set
`tests/data/judge_labels/` (310 answers, 1,376 trigger decisions, six answer styles).

    python -m benchmarks.judge_agreement [--data ../shared/eibench] [--fold test|tune|all]

Prints, for each offline judge (the default learned judge and the word-recall judge before it),
per-trigger Cohen's kappa and accuracy and the per-answer mean |recall difference|, each with a
bootstrap 95% interval over answers, for the fold as a whole and per answer style; the share of
denied or other-person mentions it does not count as covered; for the learned judge, how well
its P(covered) is calibrated (Brier score, expected calibration error, a reliability table);
and the time it took.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tests.judge_labels import LABELS

from eibench.embed import load_encoder
from eibench.judges.learned import LearnedJudge
from eibench.judges.semantic import SemanticJudge
from eibench.report.tables import interval_text
from eibench.review.calibration import Calibration
from eibench.review.labelled import Labelled, load_labelled, offline_agreement

REPO = Path(__file__).resolve().parent.parent


def _line(label: str, c: Calibration) -> str:
    def cell(name: str) -> str:
        bounds = c.intervals.get(name, (float("nan"), float("nan")))
        return f"{getattr(c, name):6.3f} {interval_text(*bounds, 1, 3)}"

    return (f"{label:<12}{c.n_samples:>8}{c.n_triggers:>9}  {cell('kappa')}  {cell('accuracy')}"
            f"  {cell('mean_abs_recall_diff')}")  # fmt: skip


def agreement(judge: SemanticJudge, name: str, rows: list[Labelled], fold: str) -> None:
    start = time.perf_counter()
    result = offline_agreement(rows, judge)
    seconds = time.perf_counter() - start
    print(f"\n{name}, {fold} fold: {len(rows)} answers judged in {seconds:.1f} s")
    print(f"{'answers':<12}{'n':>8}{'triggers':>9}  {'kappa [95% CI]':<22}  "
          f"{'accuracy [95% CI]':<22}  |recall diff| [95% CI]")  # fmt: skip
    for style, c in [("all", result.overall), *result.styles.items()]:
        print(_line(style, c))
    share = result.denied_kept / max(result.denied, 1)
    print(f"denied or other-person mentions not counted: {result.denied_kept}/{result.denied} "
          f"({share:.0%})")  # fmt: skip
    if (r := result.reliability) is not None:
        print(f"P(covered) vs people: Brier {r.brier:.3f} (base rate {r.base_brier:.3f}), "
              f"expected calibration error {r.ece:.3f}")  # fmt: skip
        print("  P(covered)   triggers  mean P  share covered")
        for low, high, n, mean, covered in r.bins:
            print(f"  {low:.1f}-{high:.1f}   {n:>10}  {mean:6.2f}  {covered:13.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eibench")
    parser.add_argument("--fold", choices=("test", "tune", "all"), default="test")
    args = parser.parse_args()
    rows = load_labelled(LABELS, args.data, args.fold)
    encoder = load_encoder("minilm")
    learned = LearnedJudge(encoder)
    agreement(learned, f"learned judge ({learned.model.version}, the default)", rows, args.fold)
    agreement(SemanticJudge(encoder), "word-recall judge (word-recall-v2)", rows, args.fold)


if __name__ == "__main__":
    main()
