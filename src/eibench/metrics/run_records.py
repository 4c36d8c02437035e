"""`RunRecords`: everything scoring and reports read of one run, read from the store once.
Score tables, coherence, sensitivity, the sample browser and judge agreement are then pure
functions of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eibench.data.load import Dataset
from eibench.judges.request import run_dataset
from eibench.metrics.scores import current_judgments
from eibench.records.runs import is_current
from eibench.store import Generation, JudgingConfig, Judgment, RunConfig, Store

ANSWER_METRICS = (
    "coherence",
    "coherence_release",
    "sensitivity_cosine",
    "sensitivity_cross_recall",
)


@dataclass
class RunRecords:
    """A run's config and split, its answers, each judging's judgments on the current answers,
    and each stored answer metric's current values, keyed by (metric, encoder)."""

    name: str
    config: RunConfig
    dataset: Dataset
    generations: dict[str, Generation]
    judgings: list[JudgingConfig]
    judged: dict[tuple[str, str], dict[str, Judgment]]
    metrics: dict[tuple[str, str], dict[str, float]]

    @classmethod
    def read(cls, store: Store, run: str, data: Path | None = None) -> RunRecords:
        config = store.require_run(run)
        generations = {g.sample_id: g for g in store.generations(run)}
        judgings = store.judgings(run)
        judged = {
            (j.judge, j.protocol): current_judgments(
                store.judgments(run, j.judge, j.protocol), generations
            )
            for j in judgings
        }
        metrics = {
            (metric, encoder): {
                sid: value
                for sid, (digest, value) in store.metrics(run, metric, encoder).items()
                if value is not None and is_current(generations.get(sid), digest)
            }
            for metric in ANSWER_METRICS
            for encoder in store.metric_encoders(run, metric)
        }
        dataset = run_dataset(store, run, data)
        return cls(run, config, dataset, generations, judgings, judged, metrics)

    def encoders(self, metric: str) -> list[str]:
        return [encoder for (name, encoder) in self.metrics if name == metric]
