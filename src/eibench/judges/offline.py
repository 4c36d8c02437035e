"""The offline `semantic` judge over a stored run: batched verdicts committed chunk by chunk.
The per-answer metrics that share its sentence embeddings (coherence, sensitivity) are a stage
of their own: `eibench.metrics.answer_metrics`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from eibench.data.load import Dataset
from eibench.data.schema import Sample
from eibench.embed import load_encoder, preload
from eibench.judges.cascade import Cascade, ModelJudge
from eibench.judges.learned import offline_judge
from eibench.judges.protocols import SEMANTIC
from eibench.judges.request import JudgeRequest, JudgeSummary, todo_samples
from eibench.judges.semantic import SemanticJudge
from eibench.models.base import ChatModel, ChatRequest, ChatResponse, ModelCallError, Usage
from eibench.models.registry import load_model, parse_spec
from eibench.records.runs import answer_digest as digest
from eibench.records.verdict import JudgeParseError, Verdict
from eibench.runner.calls import CachedCaller
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
    name, settings = judge.name, dict(judge.config)
    if request.cascade is not None:
        parse_spec(request.cascade.model)  # a bad spec fails before anything is stored
        name = f"{judge.name}+{request.cascade.model}"
        settings["cascade"] = request.cascade.settings()
    config = JudgingConfig(
        judge=name,
        protocol=SEMANTIC,
        settings=request.settings(**settings),
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
    if request.cascade is None or not todo:
        work = StageRun(f"judge {request.run}", chunks, lambda caller: stage)
        options = JobOptions(concurrency=1)  # one chunk at a time: the encoder uses every core
        return run_stage(work, store, options, summary, on_progress)
    model = load_model(request.cascade.model, request.options, dataset.samples)
    stage.model = model

    def build(caller: CachedCaller) -> _SemanticJudging:
        async def ask(chat: ChatRequest) -> ChatResponse:
            called = await caller.call(model, chat)
            return called.response.model_copy(update={"usage": Usage()}) if called.cached else (
                called.response
            )  # fmt: skip

        assert request.cascade is not None
        stage.cascade = (ModelJudge(ask, request.params, request.max_asks), request.cascade)
        return stage

    work = StageRun(f"judge {request.run}", chunks, build, models=[model])
    return run_stage(
        work, store, request.job_options(request.options.timeout), summary, on_progress
    )


@dataclass
class _SemanticJudging:
    """The stage: judge a chunk of answers by their embeddings, store its judgments."""

    run: str
    judge: SemanticJudge
    config: JudgingConfig
    samples: dict[str, Sample]
    answers: dict[str, Generation]
    store: Store
    cascade: tuple[ModelJudge, Cascade] | None = None
    model: ChatModel | None = None  # the cascade's, closed at the end

    async def work(self, chunk: list[str]) -> list[Judgment]:
        items = [(self.answers[s].clean or "", self.samples[s].triggers) for s in chunk]
        verdicts = self.judge.judge_many(items)
        decided = await asyncio.gather(
            *(
                self._decide(v, answer, triggers)
                for v, (answer, triggers) in zip(verdicts, items, strict=True)
            )
        )
        return [
            Judgment(
                run=self.run,
                sample_id=sid,
                judge=self.config.judge,
                protocol=SEMANTIC,
                status="ok" if verdict is not None else "failed",
                answer_digest=digest(self.answers[sid].clean),
                verdict=verdict,
                raw=error,
                error_kind=kind,
                usage=usage,
            )
            for sid, (verdict, usage, error, kind) in zip(chunk, decided, strict=True)
        ]

    async def _decide(
        self, verdict: Verdict, answer: str, triggers: list[str]
    ) -> tuple[Verdict | None, Usage, str | None, str | None]:
        """The verdict, its uncertain triggers asked of the cascade's model when there is one,
        and the tokens spent; (None, no usage, why, the error's kind) when the model could not
        answer."""
        if self.cascade is None:
            return verdict, Usage(), None, None
        model, cascade = self.cascade
        try:
            return (*await model.decide(verdict, answer, triggers, cascade), None, None)
        except ModelCallError as error:
            return None, Usage(), f"the cascade's model failed: {error}", error.kind
        except JudgeParseError as error:
            return None, Usage(), f"the cascade's model replied neither yes nor no: {error}", None

    def error_kind(self, judgments: list[Judgment]) -> str | None:
        """The first failed call's kind: a fatal one (auth, unavailable) leaves the chunk to do."""
        return next((j.error_kind for j in judgments if j.error_kind), None)

    def commit(self, judgments: list[Judgment]) -> Outcome:
        self.store.put_judgments(judgments)
        failed = sum(j.status == "failed" for j in judgments)
        usage = sum((j.usage for j in judgments), Usage())
        return Outcome(ok=len(judgments) - failed, failed=failed, usage=usage)

    async def aclose(self) -> None:
        if self.model is not None:
            await self.model.aclose()
