"""The offline `semantic` judge over a stored run: batched verdicts committed chunk by chunk.
The per-answer metrics that share its sentence embeddings (coherence, sensitivity) are a stage
of their own: `eibench.metrics.answer_metrics`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eibench.data.load import Dataset
from eibench.data.schema import Sample
from eibench.embed import load_encoder, preload
from eibench.judges.learned import offline_judge
from eibench.judges.protocols import SEMANTIC
from eibench.judges.request import JudgeRequest, JudgeSummary, todo_samples
from eibench.judges.semantic import SemanticJudge
from eibench.records.runs import answer_digest as digest
from eibench.runner.engine import JobOptions, Outcome, StageRun, run_stage
from eibench.runner.progress import OnProgress
from eibench.store import Generation, JudgingConfig, Judgment, Store
from eibench.version import __version__

CHUNK = 128  # answers judged (and committed) together


def judge_semantic(
    request: JudgeRequest,
    store: Store,
    dataset: Dataset,
    answers: dict[str, Generation],
    workspace: Path,
    on_progress: OnProgress | None,
) -> JudgeSummary:
    encoder = load_encoder(request.judge, cache_dir=workspace / "embeddings")
    fitted = request.judge_config
    judge = offline_judge(encoder, fitted.threshold if fitted else None)
    config = JudgingConfig(
        judge=judge.name,
        protocol=SEMANTIC,
        settings=request.settings(**judge.config),
        package_version=__version__,
    )
    store.ensure_judging(request.run, config, request.replace)
    states = store.judgment_states(request.run, config.judge, SEMANTIC)
    todo = todo_samples(answers, states, request.retry_failed)
    summary = JudgeSummary(
        selected=len(answers), skipped=len(answers) - len(todo), judge=config.judge,
        protocol=SEMANTIC,
    )  # fmt: skip
    if todo:
        preload(encoder)  # a broken model folder fails here, before the stage starts
    chunks = [todo[start : start + CHUNK] for start in range(0, len(todo), CHUNK)]
    stage = _SemanticJudging(request.run, judge, config, dataset.by_id(), answers, store)
    work = StageRun(f"judge {request.run}", chunks, lambda caller: stage)
    options = JobOptions(concurrency=1)  # one chunk at a time: the encoder uses every core
    return run_stage(work, store, options, summary, on_progress)


@dataclass
class _SemanticJudging:
    """The stage: judge a chunk of answers by their embeddings, store its judgments."""

    run: str
    judge: SemanticJudge
    config: JudgingConfig
    samples: dict[str, Sample]
    answers: dict[str, Generation]
    store: Store

    async def work(self, chunk: list[str]) -> list[Judgment]:
        items = [(self.answers[s].clean or "", self.samples[s].triggers) for s in chunk]
        verdicts = self.judge.judge_many(items)
        return [
            Judgment(
                run=self.run,
                sample_id=sid,
                judge=self.config.judge,
                protocol=SEMANTIC,
                status="ok",
                answer_digest=digest(self.answers[sid].clean),
                verdict=verdict,
            )
            for sid, verdict in zip(chunk, verdicts, strict=True)
        ]

    def error_kind(self, judgments: list[Judgment]) -> str | None:
        return None

    def commit(self, judgments: list[Judgment]) -> Outcome:
        self.store.put_judgments(judgments)
        return Outcome(ok=len(judgments))

    async def aclose(self) -> None:
        return None
