"""Which samples a run covers: all, the first N, given ids, or a seeded stratified subset."""

from __future__ import annotations

import random
from collections.abc import Sequence

from eibench.data.schema import Sample
from eibench.errors import EIBenchError


def stratified_subset(samples: Sequence[Sample], n: int, seed: int) -> list[Sample]:
    """`n` samples drawn with `seed`, each emotion in proportion to its size (largest
    remainders get the leftover places) and with one place at least where `n` allows,
    returned in release order."""
    if n >= len(samples):
        return list(samples)
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(sample.emotion, []).append(sample)
    quotas = {e: n * len(g) / len(samples) for e, g in groups.items()}
    # every emotion gets one place at least, when there are enough, so each has a figure
    counts = {e: max(int(q), int(n >= len(groups))) for e, q in quotas.items()}
    while sum(counts.values()) > n:  # those places come from the emotions most over quota
        counts[max(counts, key=lambda e: (counts[e] - quotas[e], e))] -= 1
    leftover = n - sum(counts.values())
    for emotion in sorted(quotas, key=lambda e: (counts[e] - quotas[e], e))[:leftover]:
        counts[emotion] += 1
    rng = random.Random(seed)
    chosen = {s.id for e, g in sorted(groups.items()) for s in rng.sample(g, counts[e])}
    return [s for s in samples if s.id in chosen]


def select_samples(
    samples: Sequence[Sample],
    *,
    limit: int | None = None,
    sample_ids: Sequence[str] = (),
    subset: int | None = None,
    seed: int = 0,
) -> list[Sample]:
    """Apply `--sample-ids`, then `--subset N --seed K`, then `--limit N`."""
    chosen = list(samples)
    if sample_ids:
        by_id = {s.id: s for s in chosen}
        unknown = [i for i in sample_ids if i not in by_id]
        if unknown:
            raise EIBenchError(f"unknown sample id(s): {', '.join(unknown[:5])}")
        wanted = set(sample_ids)
        chosen = [s for s in chosen if s.id in wanted]
    if subset is not None:
        chosen = stratified_subset(chosen, subset, seed)
    if limit is not None:
        chosen = chosen[:limit]
    return chosen
