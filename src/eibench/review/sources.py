"""What a campaign reviews: release samples (`basic`, `complex`), CFSA drafts
(`annotations[:BATCH]`), or a run's answers (`run:NAME`, for audits), optionally a seeded sample
stratified by emotion."""

from __future__ import annotations

import random
from pathlib import Path

from eibench.data import load_split, resolve_data_dir
from eibench.data.schema import Sample, Split
from eibench.errors import EIBenchError
from eibench.judges.request import run_dataset
from eibench.review.campaigns import Kind, ReviewItem
from eibench.runner.select import stratified_subset
from eibench.store import Store
from eibench.store.annotations import load_annotations


def _from_sample(sample: Sample, answer: str | None = None) -> ReviewItem:
    return ReviewItem(
        item_id=sample.id, split=sample.split, image=sample.image, emotion=sample.emotion,
        question=sample.question, triggers=list(sample.triggers), answer=answer,
    )  # fmt: skip


def build_items(
    store: Store,
    kind: Kind,
    source: str,
    *,
    data: Path | None = None,
    sample: int | None = None,
    seed: int = 0,
    stratify: bool = True,
) -> list[ReviewItem]:
    """The items of a new campaign, in a stable order."""
    if kind == "audit" and not source.startswith("run:"):
        raise EIBenchError("an audit campaign reviews a run's answers: --from run:NAME")
    if kind == "refine" and not source.startswith("annotations"):
        raise EIBenchError("a refine campaign reviews CFSA drafts: --from annotations[:BATCH]")
    splits: dict[str, Split] = {"basic": "basic", "complex": "complex"}
    if source in splits:
        samples = load_split(resolve_data_dir(data), splits[source]).samples
        found = [_from_sample(s) for s in _pick(samples, sample, seed, stratify)]
    elif source.startswith("run:"):
        run = source.removeprefix("run:")
        dataset = run_dataset(store, run, data)
        answers = {g.sample_id: g.clean for g in store.generations(run) if g.status == "ok"}
        answered = [s for s in dataset.samples if s.id in answers]
        found = [_from_sample(s, answers[s.id]) for s in _pick(answered, sample, seed, stratify)]
    elif source == "annotations" or source.startswith("annotations:"):
        batch = source.partition(":")[2] or "cfsa"
        drafts = [a for a in load_annotations(store, batch) if a.status != "failed" and a.triggers]
        if sample is not None and sample < len(drafts):
            drafts = sorted(random.Random(seed).sample(drafts, sample), key=lambda a: a.id)
        found = [
            ReviewItem(
                item_id=a.id,
                split="cfsa",
                image=a.image,
                emotion=a.emotion,
                question=a.question or "",
                triggers=a.triggers,
                batch=batch,
            )
            for a in drafts
        ]
    else:
        raise EIBenchError(
            f"unknown source {source!r}: use basic, complex, annotations[:BATCH] or run:NAME"
        )
    if not found:
        raise EIBenchError(f"nothing to review in {source}")
    return found


def _pick(samples: list[Sample], n: int | None, seed: int, stratify: bool) -> list[Sample]:
    if n is None or n >= len(samples):
        return list(samples)
    if stratify:
        return stratified_subset(samples, n, seed)
    chosen = set(random.Random(seed).sample(range(len(samples)), n))
    return [s for i, s in enumerate(samples) if i in chosen]
