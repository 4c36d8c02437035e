"""Judge calibration: a judge's verdicts against people's audit labels on the same answers
(per-trigger accuracy and Cohen's kappa, per-sample recall correlation), the way to prove a
judge before trusting it. `calibrate_judge` applies it to a stored judging, and for a judge that
scores each trigger fits the threshold that agrees best with the people."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from eibench.errors import EIBenchError
from eibench.judges.configs import FITTABLE
from eibench.judges.learned import METHOD as LEARNED
from eibench.judges.protocols import ENTAIL
from eibench.metrics.agreement import cohen_kappa, pearson, spearman
from eibench.metrics.run_scores import pick_judgings
from eibench.metrics.scores import current_judgments
from eibench.metrics.stats import bootstrap_mean
from eibench.review.outputs import audit_labels
from eibench.store import JudgingConfig, Store


@dataclass(frozen=True)
class JudgeCalibration:
    """A stored judging against an audit's people: which judging, its calibration as stored,
    and (when asked for and its verdicts score each trigger) the best-agreeing threshold."""

    run: str
    judging: JudgingConfig
    calibration: Calibration
    fit: ThresholdFit | None = None
    reliability: Reliability | None = None  # of its per-trigger probabilities, if it gives some

    @property
    def name(self) -> str:
        return f"{self.judging.judge} ({self.judging.protocol})"


def calibrate_judge(
    audit: str,
    run: str | None,
    judge: str | None,
    protocol: str | None,
    *,
    fit: bool = False,
    workspace: Path | None = None,
) -> JudgeCalibration:
    """The calibration of one judging of `run` (default: the run the audit reviewed) against
    the majority of the audit's raters; with `fit`, also the threshold on its per-trigger
    scores that agrees best with them (an error for a judge without such scores)."""
    with Store.open(workspace, create=False) as store:
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
    if not (verdicts and all(v.triggers for v in verdicts.values())):
        if fit:
            raise EIBenchError(f"{config.judge} ({config.protocol}) gives no per-trigger "
                               "verdicts, so it has no threshold to fit")  # fmt: skip
        recalls = {s: v.recall for s, v in verdicts.items()}
        return JudgeCalibration(run, config, calibrate_counts(human, recalls))
    flags = {s: [t.covered for t in v.triggers] for s, v in verdicts.items()}
    result = JudgeCalibration(run, config, calibrate(human, flags))
    scores = {s: [t.score for t in v.triggers] for s, v in verdicts.items()}
    if gives_probabilities(config):
        paired = [(p, h) for s, row in scores.items() if s in human and len(row) == len(human[s])
                  for p, h in zip(row, human[s], strict=True) if p is not None]  # fmt: skip
        result = replace(
            result, reliability=reliability([p for p, _ in paired], [h for _, h in paired])
        )
    if not fit:
        return result
    if config.protocol not in FITTABLE or any(None in row for row in scores.values()):
        fittable = ", ".join(FITTABLE)
        raise EIBenchError(f"{config.judge} ({config.protocol}) does not score each trigger, "
                           f"so it has no threshold to fit (these do: {fittable})")  # fmt: skip
    scored = {s: [float(x) for x in row if x is not None] for s, row in scores.items()}
    return replace(result, fit=fit_threshold(human, scored))


def gives_probabilities(judging: JudgingConfig) -> bool:
    """Whether the judging's per-trigger scores are probabilities: the learned offline judge's
    P(covered) (with or without a cascade) and the entail protocol's P(yes)."""
    return judging.protocol == ENTAIL or judging.settings.get("method") == LEARNED


@dataclass(frozen=True)
class ThresholdFit:
    """The threshold on per-trigger scores that agrees best with people, and how well."""

    threshold: float
    calibration: Calibration


def fit_threshold(
    human: Mapping[str, Sequence[bool]], scores: Mapping[str, Sequence[float]]
) -> ThresholdFit:
    """The threshold (covered when a trigger's score reaches it) with the highest Cohen's kappa
    against `human`, then the highest accuracy, then the lowest.

    The candidates are the midpoints between neighbouring distinct scores (and one below the
    lowest, one above the highest), rounded to 6 places, so the fitted value does not sit on a
    labelled score. Samples are paired as in `calibrate`.

    Raises:
        EIBenchError: when no sample has labels and scores for the same triggers.
    """
    pairs = [s for s in human if s in scores and len(human[s]) == len(scores[s]) > 0]
    if not pairs:
        raise EIBenchError("no audited answer has a judge score for each of its triggers")
    truth = np.array([bool(x) for s in pairs for x in human[s]])
    score = np.array([float(x) for s in pairs for x in scores[s]])
    levels = np.unique(score)
    candidates = np.round(
        np.concatenate([[levels[0] - 0.5], (levels[:-1] + levels[1:]) / 2, [levels[-1] + 0.5]]),
        6,
    )
    best = max(candidates, key=lambda t: (cohen_kappa(truth.tolist(), (score >= t).tolist()),
                                          float(np.mean(truth == (score >= t))), -t))  # fmt: skip
    threshold = float(best)
    flags = {s: [x >= threshold for x in scores[s]] for s in pairs}
    return ThresholdFit(threshold, calibrate({s: human[s] for s in pairs}, flags))


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
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """95% intervals of `accuracy`, `kappa` and `mean_abs_recall_diff` from a bootstrap over
    samples (a sample's triggers stay together); empty where a figure is nan."""


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
    calibration = _calibration(
        n_triggers=len(flat_human),
        accuracy=float(np.mean(agree)) if agree else math.nan,
        kappa=cohen_kappa(flat_human, flat_judge),
        human_recall=[sum(h) / len(h) for h, _ in pairs],
        judge_recall=[sum(j) / len(j) for _, j in pairs],
    )
    return replace(calibration, intervals=agreement_intervals(pairs))


def agreement_intervals(
    pairs: Sequence[tuple[Sequence[bool], Sequence[bool]]],
    *,
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile-bootstrap intervals of per-trigger accuracy, Cohen's kappa and the mean
    |recall difference|, resampling samples (each a (human, judge) pair of covered flags), so
    that the triggers of one answer, which are not independent, stay together."""
    if len(pairs) < 2:
        return {}
    # per sample: both covered, only people, only the judge, neither; and |recall difference|
    cells = np.array([[sum(h and j for h, j in zip(hs, js, strict=True)),
                       sum(h and not j for h, j in zip(hs, js, strict=True)),
                       sum(j and not h for h, j in zip(hs, js, strict=True)),
                       sum(not (h or j) for h, j in zip(hs, js, strict=True))]
                      for hs, js in pairs], dtype=np.float64)  # fmt: skip
    diff = np.array([abs(sum(h) - sum(j)) / len(h) for h, j in pairs])
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(pairs), np.full(len(pairs), 1 / len(pairs)), size=resamples)
    both, people, judge, neither = (weights @ cells).T
    total = both + people + judge + neither
    observed = (both + neither) / total
    chance = ((both + people) * (both + judge) + (judge + neither) * (people + neither)) / total**2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - chance) / (1 - chance)
    figures = {
        "accuracy": observed,
        "kappa": kappa,
        "mean_abs_recall_diff": weights @ diff / len(pairs),
    }
    tail = 100 * (1 - level) / 2
    return {
        name: (float(np.percentile(kept, tail)), float(np.percentile(kept, 100 - tail)))
        for name, values in figures.items()
        if (kept := values[np.isfinite(values)]).size
    }


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
        recall (other samples are left out), with a bootstrap interval of the mean |recall
        difference|.
    """
    shared = [
        s
        for s in human
        if s in judge_recall and len(human[s]) > 0 and math.isfinite(judge_recall[s])
    ]
    people = [sum(map(bool, human[s])) / len(human[s]) for s in shared]
    judged = [float(judge_recall[s]) for s in shared]
    calibration = _calibration(
        n_triggers=sum(len(human[s]) for s in shared),
        accuracy=math.nan,
        kappa=math.nan,
        human_recall=people,
        judge_recall=judged,
    )
    if len(shared) < 2:
        return calibration
    interval = bootstrap_mean([abs(j - h) for h, j in zip(people, judged, strict=True)])
    return replace(calibration, intervals={"mean_abs_recall_diff": (interval.low, interval.high)})


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


@dataclass(frozen=True)
class Reliability:
    """How far a judge's per-trigger probabilities (P(covered), P(yes)) match people's labels.

    `brier` is the mean squared difference between probability and label, `base_brier` that of
    always saying the labels' base rate (a judge worth its probabilities is well below it), and
    `ece` the expected calibration error: the gap between mean probability and the share
    labelled covered, averaged over `bins` (low, high, triggers, mean probability, share
    covered) weighted by their triggers."""

    brier: float
    base_brier: float
    ece: float
    bins: list[tuple[float, float, int, float, float]]


def reliability(
    probabilities: Sequence[float], labels: Sequence[bool], n_bins: int = 10
) -> Reliability:
    """The `Reliability` of `probabilities` against `labels` (one each per trigger), over
    `n_bins` equal-width bins of probability (empty bins are left out)."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if not p.size:
        return Reliability(math.nan, math.nan, math.nan, [])
    which = np.minimum((p * n_bins).astype(int), n_bins - 1)
    bins = [(b / n_bins, (b + 1) / n_bins, int(m.sum()), float(p[m].mean()), float(y[m].mean()))
            for b in range(n_bins) if (m := which == b).any()]  # fmt: skip
    return Reliability(
        brier=float(np.mean((p - y) ** 2)), base_brier=float(np.mean((y.mean() - y) ** 2)),
        ece=sum(n * abs(mean - share) for _, _, n, mean, share in bins) / p.size, bins=bins,
    )  # fmt: skip
