"""Judge calibration: a judge's verdicts against people's audit labels on the same answers
(per-trigger accuracy and Cohen's kappa, per-sample recall correlation), the way to prove a
judge before trusting it. `calibrate_judge` applies it to a stored judging."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eibench.errors import EIBenchError
from eibench.metrics.agreement import cohen_kappa, pearson, spearman
from eibench.metrics.run_scores import pick_judgings
from eibench.metrics.scores import current_judgments
from eibench.review.outputs import audit_labels
from eibench.store import Store


def calibrate_judge(
    audit: str,
    run: str | None,
    judge: str | None,
    protocol: str | None,
    *,
    data: Path | None = None,
    workspace: Path | None = None,
) -> tuple[Calibration, str]:
    """The calibration of one judging of `run` (default: the run the audit reviewed) against
    the majority of the audit's raters, and the judging's name."""
    with Store.open(workspace) as store:
        labels, info = audit_labels(store, audit)
        run = run or info["run"]
        chosen = pick_judgings(run, store.judgings(run), [judge] if judge else [], protocol)
        if len(chosen) != 1:
            names = ", ".join(f"{c.judge} ({c.protocol})" for c in chosen)
            raise EIBenchError(f"run {run!r} has several judgings ({names}): pick one with "
                               "--judge and --protocol")  # fmt: skip
        config = chosen[0]
        generations = {g.sample_id: g for g in store.generations(run)}
        judged = current_judgments(store.judgments(run, config.judge, config.protocol), generations)
    human = {sid: majority(votes) for sid, votes in labels.items()}
    verdicts = {s: j.verdict for s, j in judged.items() if j.status == "ok" and j.verdict}
    name = f"{config.judge} ({config.protocol})"
    if verdicts and all(v.triggers for v in verdicts.values()):
        flags = {s: [t.covered for t in v.triggers] for s, v in verdicts.items()}
        return calibrate(human, flags), name
    return calibrate_counts(human, {s: v.recall for s, v in verdicts.items()}), name


@dataclass(frozen=True)
class Calibration:
    """How a judge's trigger verdicts compare with people's, over `n_samples` samples holding
    `n_triggers` triggers.

    `accuracy` is the share of triggers where the judge's covered flag equals the human label
    and `kappa` Cohen's kappa of the two (both nan when the judge gives only a recall).
    `recall_pearson` and `recall_spearman` correlate the per-sample recalls (share of a sample's
    triggers covered), `mean_abs_recall_diff` is the mean |judge - human| recall, and
    `human_recall` and `judge_recall` the mean recalls. Every figure is nan with no samples.
    """

    n_samples: int
    n_triggers: int
    accuracy: float
    kappa: float
    recall_pearson: float
    recall_spearman: float
    mean_abs_recall_diff: float
    human_recall: float
    judge_recall: float


def majority(labels: Sequence[Sequence[bool]]) -> list[bool]:
    """Combine several people's per-trigger labels of one sample into one label per trigger.

    A trigger is covered when at least half the raters say so: a tie counts as covered. With
    two raters that is "either says covered", so a reasonable reading of the answer that one
    careful person accepted is not held against the judge, and the judge is asked to find the
    same mentions a lenient reader finds.

    Args:
        labels: one sequence per rater, each with one covered flag per trigger (same length).

    Raises:
        ValueError: with no raters, or raters giving different numbers of labels.
    """
    if not labels:
        raise ValueError("majority needs at least one rater's labels")
    if len({len(row) for row in labels}) > 1:
        raise ValueError("every rater must label the same triggers (rows differ in length)")
    votes = np.asarray(labels, dtype=bool).reshape(len(labels), -1)
    return [bool(2 * count >= len(labels)) for count in votes.sum(axis=0)]


def calibrate(
    human: Mapping[str, Sequence[bool]], judge: Mapping[str, Sequence[bool]]
) -> Calibration:
    """Compare a judge's per-trigger verdicts with human labels.

    Args:
        human: sample id -> per-trigger covered flags from people (several raters combined
            beforehand, e.g. with `majority`).
        judge: sample id -> the judge's covered flags for the same triggers, in the same order.

    Returns:
        The calibration over the samples in both with the same, non-zero, number of triggers;
        other samples are left out.
    """
    pairs = [
        (list(map(bool, human[s])), list(map(bool, judge[s])))
        for s in human
        if s in judge and len(human[s]) == len(judge[s]) and len(human[s]) > 0
    ]
    flat_human = [flag for h, _ in pairs for flag in h]
    flat_judge = [flag for _, j in pairs for flag in j]
    agree = [a == b for a, b in zip(flat_human, flat_judge, strict=True)]
    return _calibration(
        n_triggers=len(flat_human),
        accuracy=float(np.mean(agree)) if agree else math.nan,
        kappa=cohen_kappa(flat_human, flat_judge),
        human_recall=[sum(h) / len(h) for h, _ in pairs],
        judge_recall=[sum(j) / len(j) for _, j in pairs],
    )


def calibrate_counts(
    human: Mapping[str, Sequence[bool]], judge_recall: Mapping[str, float]
) -> Calibration:
    """Compare a judge that gives only a per-sample recall (the paper's protocols) with human
    per-trigger labels; the per-trigger fields (accuracy, kappa) are nan.

    Args:
        human: sample id -> per-trigger covered flags from people.
        judge_recall: sample id -> the judge's recall for the sample (covered triggers over the
            sample's true trigger count), used as given.

    Returns:
        The calibration over the samples in both with at least one trigger and a finite judge
        recall; other samples are left out.
    """
    shared = [
        s
        for s in human
        if s in judge_recall and len(human[s]) > 0 and math.isfinite(judge_recall[s])
    ]
    return _calibration(
        n_triggers=sum(len(human[s]) for s in shared),
        accuracy=math.nan,
        kappa=math.nan,
        human_recall=[sum(map(bool, human[s])) / len(human[s]) for s in shared],
        judge_recall=[float(judge_recall[s]) for s in shared],
    )


def _calibration(
    *,
    n_triggers: int,
    accuracy: float,
    kappa: float,
    human_recall: list[float],
    judge_recall: list[float],
) -> Calibration:
    h = np.asarray(human_recall, dtype=np.float64)
    j = np.asarray(judge_recall, dtype=np.float64)
    empty = h.size == 0
    return Calibration(
        n_samples=int(h.size),
        n_triggers=n_triggers,
        accuracy=accuracy,
        kappa=kappa,
        recall_pearson=pearson(human_recall, judge_recall),
        recall_spearman=spearman(human_recall, judge_recall),
        mean_abs_recall_diff=math.nan if empty else float(np.mean(np.abs(j - h))),
        human_recall=math.nan if empty else float(h.mean()),
        judge_recall=math.nan if empty else float(j.mean()),
    )
