"""Descriptive statistics of a split: samples, triggers and question length, by group."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel

from eibench.data.schema import BASIC_EMOTIONS, KNOWN_SOURCES, Sample

_ORDER = {name: i for i, name in enumerate(BASIC_EMOTIONS + KNOWN_SOURCES)}


class Spread(BaseModel):
    min: int
    mean: float
    max: int


class GroupStats(BaseModel):
    samples: int
    images: int
    triggers: int
    triggers_per_sample: Spread
    trigger_histogram: dict[int, int]
    question_words: Spread


class SplitStats(BaseModel):
    overall: GroupStats
    by_emotion: dict[str, GroupStats]
    by_source: dict[str, GroupStats]


def _spread(values: list[int]) -> Spread:
    return Spread(min=min(values), mean=round(sum(values) / len(values), 3), max=max(values))


def group_stats(samples: list[Sample]) -> GroupStats:
    """Counts and distributions over a non-empty list of samples."""
    counts = [len(s.triggers) for s in samples]
    return GroupStats(
        samples=len(samples),
        images=len({s.image for s in samples}),
        triggers=sum(counts),
        triggers_per_sample=_spread(counts),
        trigger_histogram=dict(sorted(Counter(counts).items())),
        question_words=_spread([len(s.question.split()) for s in samples]),
    )


def _grouped(samples: Iterable[Sample], attribute: str) -> dict[str, GroupStats]:
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(getattr(sample, attribute), []).append(sample)
    order = sorted(groups, key=lambda name: (_ORDER.get(name, len(_ORDER)), name))
    return {name: group_stats(groups[name]) for name in order}


def split_stats(samples: list[Sample]) -> SplitStats:
    """Statistics for one split, overall, per emotion and per source."""
    return SplitStats(
        overall=group_stats(samples),
        by_emotion=_grouped(samples, "emotion"),
        by_source=_grouped(samples, "source"),
    )
