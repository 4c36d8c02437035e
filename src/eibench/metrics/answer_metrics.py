"""Per-answer metrics as a stage of their own, after judging: each answer's long-term coherence
and, on the complex split, its emotion sensitivity. They are computed from stored answers by
the pure functions of `metrics.coherence` and `metrics.sensitivity`, and stored keyed by the
answer's digest, so a changed answer is measured again. The encoder is the semantic judge's
(`load_encoder` keeps one per spec in the process), so its sentence embeddings are shared."""

from __future__ import annotations

from eibench.data.load import Dataset
from eibench.embed import Encoder, WordEncoder, load_encoder
from eibench.embed.sentences import release_sentences, split_sentences
from eibench.judges.learned import offline_judge
from eibench.judges.protocols import SEMANTIC
from eibench.judges.request import JudgeRequest, JudgeSummary, run_dataset
from eibench.judges.run import judge_run
from eibench.judges.semantic import SemanticJudge
from eibench.metrics.coherence import coherence_many
from eibench.metrics.sensitivity import SensitivityItem, emotion_sensitivity, paired_samples
from eibench.records.runs import answer_digest as digest
from eibench.records.runs import is_current
from eibench.runner.progress import OnProgress
from eibench.store import Generation, Store
from eibench.store.db import default_workspace

SENSITIVITY_METRICS = ("sensitivity_cosine", "sensitivity_cross_recall")


def judge_and_measure(request: JudgeRequest, on_progress: OnProgress | None = None) -> JudgeSummary:
    """`judge_run`, then, for the semantic protocol, the per-answer metrics that share its
    embeddings (coherence with `request.coherence`; sensitivity on the complex split)."""
    summary = judge_run(request, on_progress)
    if request.protocol == SEMANTIC:
        summary.coherence = measure_run(request)
    return summary


def measure_run(request: JudgeRequest) -> int:
    """Store the metrics of the run's answers that lack them; returns how many answers had
    their coherence computed now."""
    workspace = request.workspace or default_workspace()
    cache = workspace / "embeddings"
    with Store.open(workspace) as store:
        dataset = run_dataset(store, request.run, request.data)
        answers = {g.sample_id: g for g in store.generations(request.run) if g.status == "ok"}
        encoder = load_encoder(request.judge, cache_dir=cache)
        measured = 0
        if request.coherence:
            spec = request.coherence_encoder
            coherent = encoder if spec is None else load_encoder(spec, cache_dir=cache)
            measured = store_coherence(store, request.run, answers, coherent)
        if dataset.split == "complex":
            store_sensitivity(store, request.run, dataset, answers, encoder)
    return measured


def _stale(
    stored: dict[str, tuple[str, float | None]], answers: dict[str, Generation]
) -> list[str]:
    return [s for s, g in answers.items() if not is_current(g, stored.get(s, ("", None))[0])]


def store_coherence(
    store: Store, run: str, answers: dict[str, Generation], encoder: Encoder
) -> int:
    """Compute and store the coherence of answers that lack it, in both modes: `coherence`
    (the cleaned answer's sentences) and `coherence_release` (the raw answer split as the
    release did; see `release_sentences`). Returns how many answers were measured."""
    todo = _stale(store.metrics(run, "coherence", encoder.name), answers)
    todo_release = _stale(store.metrics(run, "coherence_release", encoder.name), answers)
    for metric, ids, texts, splitter in (
        ("coherence", todo, [answers[s].clean or "" for s in todo], split_sentences),
        ("coherence_release", todo_release, [answers[s].raw or "" for s in todo_release],
         release_sentences),
    ):  # fmt: skip
        if not ids:
            continue
        values = coherence_many(texts, encoder, splitter)
        store.put_metrics(
            run,
            metric,
            encoder.name,
            ((s, digest(answers[s].clean), v) for s, v in zip(ids, values, strict=True)),
        )
    return len(todo)


def store_sensitivity(
    store: Store,
    run: str,
    dataset: Dataset,
    answers: dict[str, Generation],
    encoder: WordEncoder,
) -> None:
    """Store each complex answer's emotion sensitivity: its mean embedding cosine and mean
    cross-recall against the other questions on the same image, the recall by the default
    offline judge for `encoder`. Stored under `sensitivity_key` (the encoder and that judge's
    version), so a new judge version measures again. Nothing is computed (and no model read)
    when every paired answer's values are stored for its current text."""
    samples = dataset.by_id()
    items = [
        SensitivityItem(sid, s.image, s.emotion, answers[sid].clean or "", s.triggers)
        for sid, s in ((sid, samples[sid]) for sid in answers)
    ]
    judge = offline_judge(encoder)
    key = sensitivity_key(judge)
    if not _sensitivity_stale(store, run, key, items, answers):
        return
    result = emotion_sensitivity(items, encoder, judge)
    for index, metric in enumerate(SENSITIVITY_METRICS):
        store.put_metrics(
            run,
            metric,
            key,
            (
                (sid, digest(answers[sid].clean), pair[index])
                for sid, pair in result.per_sample.items()
            ),
        )


def sensitivity_key(judge: SemanticJudge) -> str:
    """What the sensitivity values are stored (and shown in `eibench score`) under: the encoder
    and the cross-recall judge's version, e.g. `all-MiniLM-L6-v2, learned-v1-604ed2323a`."""
    version = judge.config.get("model", judge.config["method"])
    return f"{judge.encoder.name}, {version}"


def _sensitivity_stale(
    store: Store,
    run: str,
    encoder: str,
    items: list[SensitivityItem],
    answers: dict[str, Generation],
) -> bool:
    """Whether some answer that has a pair lacks a sensitivity value for its current text.

    A sample's values depend on the other answers on its image too, but a stored answer is
    only ever replaced by another answer (`Store.put_generation`), whose new digest makes its
    own values stale, so one stale answer is enough to recompute them all."""
    paired = paired_samples(items)
    if not paired:
        return False
    stored = [store.metrics(run, metric, encoder) for metric in SENSITIVITY_METRICS]
    return any(
        not is_current(answers[sid], values.get(sid, ("", None))[0])
        for values in stored
        for sid in paired
    )
