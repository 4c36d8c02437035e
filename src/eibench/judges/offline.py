"""The offline `semantic` judge over a stored run: batched verdicts committed chunk by chunk,
then each answer's long-term coherence and, on the complex split, its emotion sensitivity,
sharing the judge's sentence embeddings."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from eibench import __version__
from eibench.data.load import Dataset
from eibench.embed import Encoder, load_encoder
from eibench.judges.protocols import SEMANTIC
from eibench.judges.run import JudgeRequest, JudgeSummary, todo_samples
from eibench.judges.semantic import SemanticJudge
from eibench.metrics.coherence import coherence_many
from eibench.metrics.sensitivity import SensitivityItem, emotion_sensitivity
from eibench.models.base import Usage
from eibench.runner.progress import RunProgress
from eibench.store import Generation, JudgingConfig, Judgment, Store
from eibench.store.records import answer_digest as digest
from eibench.store.records import is_current

CHUNK = 128  # answers judged (and committed) together


def judge_semantic(
    request: JudgeRequest,
    store: Store,
    dataset: Dataset,
    answers: dict[str, Generation],
    workspace: Path,
    console: Console | None,
) -> JudgeSummary:
    encoder = load_encoder(request.judge, cache_dir=workspace / "embeddings")
    judge = SemanticJudge(encoder)
    config = JudgingConfig(
        judge=judge.name, protocol=SEMANTIC, settings=judge.config, package_version=__version__
    )
    store.ensure_judging(request.run, config, request.replace)
    states = store.judgment_states(request.run, config.judge, SEMANTIC)
    todo = todo_samples(answers, states, request.retry_failed)
    summary = JudgeSummary(config.judge, SEMANTIC, skipped=len(answers) - len(todo))
    samples = dataset.by_id()
    with RunProgress(f"judge {request.run}", len(todo), console if todo else None) as progress:
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            items = [(answers[s].clean or "", samples[s].triggers) for s in chunk]
            verdicts = judge.judge_many(items)
            store.put_judgments(
                Judgment(
                    run=request.run,
                    sample_id=sid,
                    judge=config.judge,
                    protocol=SEMANTIC,
                    status="ok",
                    answer_digest=digest(answers[sid].clean),
                    verdict=verdict,
                )
                for sid, verdict in zip(chunk, verdicts, strict=True)
            )
            summary.ok += len(chunk)
            for _ in chunk:
                progress.advance(True, Usage())
    if request.coherence:
        coherence_encoder = (
            encoder
            if request.coherence_encoder is None
            else load_encoder(request.coherence_encoder, cache_dir=workspace / "embeddings")
        )
        summary.coherence = store_coherence(store, request.run, answers, coherence_encoder)
    if dataset.split == "complex":
        store_sensitivity(store, request.run, dataset, answers, encoder, judge)
    return summary


def _stale(
    stored: dict[str, tuple[str, float | None]], answers: dict[str, Generation]
) -> list[str]:
    return [s for s, g in answers.items() if not is_current(g, stored.get(s, ("", None))[0])]


def store_coherence(
    store: Store, run: str, answers: dict[str, Generation], encoder: Encoder
) -> int:
    """Compute and store the coherence of answers that lack it; returns how many."""
    todo = _stale(store.metrics(run, "coherence", encoder.name), answers)
    values = coherence_many([answers[s].clean or "" for s in todo], encoder)
    store.put_metrics(
        run,
        "coherence",
        encoder.name,
        ((s, digest(answers[s].clean), v) for s, v in zip(todo, values, strict=True)),
    )
    return len(todo)


def store_sensitivity(
    store: Store,
    run: str,
    dataset: Dataset,
    answers: dict[str, Generation],
    encoder: Encoder,
    judge: SemanticJudge,
) -> None:
    """Store each complex answer's emotion sensitivity: its mean embedding cosine and mean
    cross-recall against the other questions on the same image."""
    samples = dataset.by_id()
    items = [
        SensitivityItem(sid, s.image, s.emotion, answers[sid].clean or "", s.triggers)
        for sid, s in ((sid, samples[sid]) for sid in answers)
    ]
    result = emotion_sensitivity(items, encoder, judge)
    for index, metric in enumerate(("sensitivity_cosine", "sensitivity_cross_recall")):
        store.put_metrics(
            run,
            metric,
            encoder.name,
            (
                (sid, digest(answers[sid].clean), pair[index])
                for sid, pair in result.per_sample.items()
            ),
        )
