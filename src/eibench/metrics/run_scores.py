"""`score_run` and `compare_runs`: what `eibench score` and `eibench compare` show."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from eibench.data.categories import OVERALL
from eibench.errors import EIBenchError
from eibench.judges.panel import Combine, combine
from eibench.metrics.run_records import RunRecords
from eibench.metrics.scores import (
    Mean,
    Row,
    Score,
    ScorePolicy,
    categories,
    sample_value,
    score_judging,
    score_values,
)
from eibench.metrics.stats import PairedMethod, bootstrap_mean, paired_test
from eibench.store import JudgingConfig, Judgment, Store

SENSITIVITY = {"sensitivity_cosine": "answer cosine", "sensitivity_cross_recall": "cross-recall"}


class PanelScore(BaseModel):
    judges: list[str]
    protocol: str
    combine: str
    rows: list[Row]
    macro: Mean | None
    agreement: dict[str, Any] = Field(description="Krippendorff's alpha and pairwise correlations")


class RunScores(BaseModel):
    run: str
    model: str
    split: str
    setting: str
    scores: list[Score]
    panel: PanelScore | None = None
    coherence: dict[str, list[Row]] = Field(default_factory=dict, description="per encoder")
    sensitivity: dict[str, Mean] = Field(default_factory=dict, description="complex split")


def pick_judgings(
    run: str, stored: list[JudgingConfig], judges: list[str], protocol: str | None
) -> list[JudgingConfig]:
    """Of the run's `stored` judgings, those by the named judges (all when none is named)
    under `protocol`."""
    chosen = [
        c
        for c in stored
        if (not judges or c.judge in judges) and (protocol is None or c.protocol == protocol)
    ]
    missing = [j for j in judges if all(c.judge != j for c in chosen)]
    if missing or not chosen:
        have = ", ".join(f"{c.judge} ({c.protocol})" for c in stored) or "none"
        wanted = ", ".join(missing) or "any judge"
        raise EIBenchError(
            f"run {run!r} has no judgments by {wanted}"
            f"{f' with protocol {protocol}' if protocol else ''} (judged by: {have}); "
            "run `eibench judge` first"
        )
    return chosen


def _values(judgments: dict[str, Judgment], policy: ScorePolicy) -> dict[str, float]:
    return {s: v for s, j in judgments.items() if (v := sample_value(j, policy)) is not None}


def score_run(
    run: str,
    *,
    judges: list[str] | None = None,
    protocol: str | None = None,
    data: Path | None = None,
    workspace: Path | None = None,
    policy: ScorePolicy | None = None,
    how: Combine | None = None,
) -> RunScores:
    """Score tables of the run's judgings; with `how` and several judges of one protocol, the
    panel's combined table and agreement too."""
    with Store.open(workspace, create=False) as store:
        records = RunRecords.read(store, run, data)
    return score_records(records, judges=judges, protocol=protocol, policy=policy, how=how)


def score_records(
    records: RunRecords,
    *,
    judges: list[str] | None = None,
    protocol: str | None = None,
    policy: ScorePolicy | None = None,
    how: Combine | None = None,
) -> RunScores:
    """`score_run` on records already read."""
    policy = policy or ScorePolicy()
    chosen = pick_judgings(records.name, records.judgings, list(judges or []), protocol)
    config = records.config
    result = RunScores(
        run=records.name,
        model=config.model,
        split=config.split,
        setting=config.setting,
        scores=[
            score_judging(
                records.name,
                records.dataset,
                records.generations,
                list(records.judged[(c.judge, c.protocol)].values()),
                policy,
                c.judge,
                c.protocol,
                c.version,
            )
            for c in chosen
        ],
    )
    if how is not None:
        result.panel = _panel(records, chosen, policy, how)
    release = policy.rules == "release"
    metric = "coherence_release" if release else "coherence"
    for encoder in records.encoders(metric):
        values = records.metrics[(metric, encoder)]
        if release:  # the release's script kept only truthy scores
            values = {s: v for s, v in values.items() if v != 0}
        # answers of one sentence have no coherence and are left out
        result.coherence[encoder], _ = score_values(
            records.dataset, values, records.generations, {}, policy
        )
    for metric, label in SENSITIVITY.items():
        for encoder in records.encoders(metric):
            interval = bootstrap_mean(
                list(records.metrics[(metric, encoder)].values()), seed=policy.seed
            )
            result.sensitivity[f"{label} ({encoder})"] = Mean.of(interval)
    return result


def _panel(
    records: RunRecords, chosen: list[JudgingConfig], policy: ScorePolicy, how: Combine
) -> PanelScore:
    from eibench.metrics.agreement import judge_agreement

    protocols = {c.protocol for c in chosen}
    if len(chosen) < 2 or len(protocols) != 1:
        raise EIBenchError("a panel needs two or more judges of one protocol (pass --protocol)")
    judgments = {c.judge: records.judged[(c.judge, c.protocol)] for c in chosen}
    values = {judge: _values(js, policy) for judge, js in judgments.items()}
    panel_values = combine(judgments, values, how)
    shared = {s: j for s, j in next(iter(judgments.values())).items() if s in panel_values}
    rows, macro = score_values(
        records.dataset, panel_values, records.generations, shared, policy, OVERALL
    )
    return PanelScore(
        judges=[c.judge for c in chosen],
        protocol=protocols.pop(),
        combine=how,
        rows=rows,
        macro=macro,
        agreement=asdict(judge_agreement(values)),
    )


class Comparison(BaseModel):
    run_a: str
    run_b: str
    judge: str
    protocol: str
    method: str
    rows: list[dict[str, Any]] = Field(description="per category and overall: the paired test")


def compare_runs(
    run_a: str,
    run_b: str,
    *,
    judge: str | None = None,
    protocol: str | None = None,
    data: Path | None = None,
    workspace: Path | None = None,
    policy: ScorePolicy | None = None,
    method: PairedMethod = "permutation",
) -> Comparison:
    """A paired test of run A against run B on the samples both runs scored, per category and
    overall, under the same judge and protocol."""
    policy = policy or ScorePolicy()
    per_run: list[dict[str, float]] = []
    picked: list[JudgingConfig] = []
    with Store.open(workspace, create=False) as store:
        both = [RunRecords.read(store, run, data) for run in (run_a, run_b)]
    if len({records.config.split for records in both}) != 1:
        raise EIBenchError(f"{run_a} and {run_b} answered different splits")
    for records in both:
        chosen = pick_judgings(records.name, records.judgings, [judge] if judge else [], protocol)
        if picked:
            chosen = [
                c for c in chosen if (c.judge, c.protocol) == (picked[0].judge, picked[0].protocol)
            ]
        if len(chosen) != 1:
            raise EIBenchError(
                "choose one judge and protocol both runs were judged by (--judge, --protocol)"
            )
        picked.append(chosen[0])
        per_run.append(_values(records.judged[(chosen[0].judge, chosen[0].protocol)], policy))
    dataset = both[0].dataset
    groups = [*categories(dataset), (OVERALL, [s.id for s in dataset.samples])]
    rows = []
    for label, ids in groups:
        shared = [s for s in ids if s in per_run[0] and s in per_run[1]]
        test = paired_test(
            [per_run[0][s] for s in shared],
            [per_run[1][s] for s in shared],
            method=method,
            seed=policy.seed,
            level=policy.level,
        )
        rows.append({"label": label, **asdict(test)})
    return Comparison(
        run_a=run_a,
        run_b=run_b,
        judge=picked[0].judge,
        protocol=picked[0].protocol,
        method=method,
        rows=rows,
    )
