"""`judge_run`: judge a stored run's answers with one judge and protocol, into the store.

Judging resumes like generation: every verdict (or typed failure) is committed as it arrives,
a rerun judges only what is missing, and an answer that changed since it was judged (a retried
generation) is judged again. LLM judges go through the same model layer, call cache, retries
and progress reporting as generation; the `semantic` judge runs offline in batches. Judging
stores verdicts only: answer metrics are `eibench.metrics.answer_metrics`'s stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from eibench.data.load import Dataset
from eibench.data.schema import Sample
from eibench.errors import EIBenchError
from eibench.judges.offline import judge_semantic
from eibench.judges.protocols import (
    SEMANTIC,
    LLMProtocol,
    PerTriggerProtocol,
    check_protocol,
    get_protocol,
    llm_protocol,
    released,
)
from eibench.judges.request import JudgeRequest, JudgeSummary, run_dataset, todo_samples
from eibench.models.base import (
    ChatModel,
    ChatRequest,
    ChatResponse,
    GenerationParams,
    Message,
    ModelCallError,
    Usage,
)
from eibench.models.registry import load_model, parse_spec
from eibench.records.runs import answer_digest as digest
from eibench.records.verdict import JudgeParseError
from eibench.runner.calls import CachedCaller, Called, gather_or_cancel
from eibench.runner.engine import Outcome, StageRun, run_stage
from eibench.runner.progress import OnProgress
from eibench.store import Generation, JudgingConfig, Judgment, Store
from eibench.store.db import default_workspace
from eibench.store.locks import writer_lock
from eibench.version import __version__


def judge_run(request: JudgeRequest, on_progress: OnProgress | None = None) -> JudgeSummary:
    """Judge the run's answers that still need it; returns what this invocation did."""
    check_protocol(request.protocol)
    request.check_judge_config()
    if request.protocol != SEMANTIC and not request.judge:
        raise EIBenchError(f"the {request.protocol} protocol needs a judge model: pass --judge")
    request.job_options(request.options.timeout).check()
    if request.max_asks < 1:
        raise EIBenchError("--max-asks must be at least 1")
    if request.paper_sampling:
        released(get_protocol(request.protocol))  # a one-line error unless a paper protocol
    workspace = request.workspace or default_workspace()
    job = f"{request.run} by {request.judge or request.protocol} ({request.protocol})"
    with Store.open(workspace) as store, writer_lock(workspace, "judging", job):
        dataset = run_dataset(store, request.run, request.data)
        answers = {g.sample_id: g for g in store.generations(request.run) if g.status == "ok"}
        if request.protocol == SEMANTIC:
            summary = judge_semantic(request, store, dataset, answers, workspace, on_progress)
        else:
            summary = _judge_llm(request, store, dataset, answers, on_progress)
    summary.answers = len(answers)
    return summary


# LLM judges ---------------------------------------------------------------------------------


def _judge_llm(
    request: JudgeRequest,
    store: Store,
    dataset: Dataset,
    answers: dict[str, Generation],
    on_progress: OnProgress | None,
) -> JudgeSummary:
    assert request.judge is not None
    parse_spec(request.judge)
    protocol = llm_protocol(request.protocol)
    if request.judge_config is not None and isinstance(protocol, PerTriggerProtocol):
        protocol = replace(protocol, threshold=request.judge_config.threshold)
    if request.paper_sampling:
        protocol = released(protocol)
    params, max_asks = protocol.params(request.params), protocol.asks(request.max_asks)
    config = JudgingConfig(
        judge=request.judge,
        protocol=request.protocol,
        prompt_version=protocol.version(dataset.split),
        params=params,
        settings=request.settings(max_asks=max_asks),
        package_version=__version__,
    )
    store.ensure_judging(request.run, config, request.replace)
    states = store.judgment_states(request.run, config.judge, config.protocol)
    todo = todo_samples(answers, states, request.retry_failed)
    summary = JudgeSummary(
        selected=len(answers), skipped=len(answers) - len(todo), judge=config.judge,
        protocol=config.protocol,
    )  # fmt: skip
    if not todo:
        return summary
    model = load_model(request.judge, request.options)
    samples = dataset.by_id()

    def build(caller: CachedCaller) -> _LLMJudging:
        asker = _Asker(caller, model, protocol, params, max_asks, config)
        return _LLMJudging(request.run, asker, samples, answers, store, summary)

    work = StageRun(f"judge {request.run}", todo, build, models=[model])
    return run_stage(
        work, store, request.job_options(request.options.timeout), summary, on_progress
    )


@dataclass
class _LLMJudging:
    """The stage: ask the judge about one answer, store its judgment."""

    run: str
    asker: _Asker
    samples: dict[str, Sample]
    answers: dict[str, Generation]
    store: Store
    summary: JudgeSummary

    async def work(self, sid: str) -> Judgment:
        return await self.asker.judge(self.run, self.samples[sid], self.answers[sid])

    def error_kind(self, judgment: Judgment) -> str | None:
        return judgment.error_kind

    def commit(self, judgment: Judgment) -> Outcome:
        self.store.put_judgments([judgment])
        self.summary.first_ask += judgment.status == "ok" and judgment.attempts == 1
        return Outcome(
            ok=int(judgment.status == "ok"),
            unparsed=int(judgment.status == "judge_unparsed"),
            failed=int(judgment.status == "failed"),
            cached=int(judgment.cached),
            usage=Usage() if judgment.cached else judgment.usage,
        )

    async def aclose(self) -> None:
        await self.asker.model.aclose()


@dataclass
class _Asker:
    """Asks a judge model about one answer, and asks again (at most `max_asks` times) while
    the reply cannot be read. A deterministic judge is shown its reply and told what was wrong;
    a sampling judge (the release's judging among them) is sent the identical request again,
    as the release did, each ask under its own cache key so that it is a fresh sample. A
    per-trigger protocol asks each trigger's question this way, the questions together."""

    caller: CachedCaller
    model: ChatModel
    protocol: LLMProtocol | PerTriggerProtocol
    params: GenerationParams
    max_asks: int
    config: JudgingConfig

    async def judge(self, run: str, sample: Sample, answer: Generation) -> Judgment:
        record = partial(
            Judgment,
            run=run,
            sample_id=sample.id,
            judge=self.config.judge,
            protocol=self.config.protocol,
            answer_digest=digest(answer.clean),
        )
        protocol, text, spent = self.protocol, answer.clean or "", _Spent()
        try:
            if isinstance(protocol, PerTriggerProtocol):
                asked = await gather_or_cancel(*(
                    self._ask(protocol.messages(text, t), protocol.read, protocol.reask, spent)
                    for t in sample.triggers
                ))  # fmt: skip
            else:
                n = len(sample.triggers)
                asked = [await self._ask(
                    protocol.question(sample, answer), lambda r: protocol.read(r.text, n),
                    protocol.reask, spent, protocol.settles,
                )]  # fmt: skip
        except ModelCallError as exc:
            return record(status="failed", attempts=spent.calls + 1, usage=spent.usage,
                          raw=spent.raw, error_kind=exc.kind, error_message=str(exc))  # fmt: skip
        fields = {**spent.fields(), "attempts": max(a.asks for a in asked)}
        if len(asked) > 1 or isinstance(protocol, PerTriggerProtocol):
            fields["raw"] = "\n".join(f"{i}: {a.raw}" for i, a in enumerate(asked, start=1))
        error = next((a.error for a in asked if a.error is not None), None)
        if error is not None:
            return record(status="judge_unparsed", error_kind="judge_unparsed",
                          error_message=str(error), **fields)  # fmt: skip
        if isinstance(protocol, PerTriggerProtocol):
            verdict = protocol.verdict([a.value for a in asked])
        else:
            verdict = asked[0].value
        return record(status="ok", verdict=verdict, **fields)

    async def _ask(
        self,
        messages: list[Message],
        read: Callable[[ChatResponse], Any],
        reask: Callable[[JudgeParseError], Message],
        spent: _Spent,
        settles: Callable[[str], bool] = lambda reply: False,
    ) -> _Asked:
        """Ask until `read` takes the reply (or `settles` keeps an unreadable one), at most
        `max_asks` times; a failed call raises.

        A sampling judge's repeat is the identical request: only its `context` (which API
        backends never send) carries the ask's number, so the call cache keys each ask apart
        and never answers a repeat with the reply it just refused."""
        resample = self.params.temperature != 0  # None: the server's default, which samples
        error: JudgeParseError | None = None
        raw: str | None = None
        for ask in range(1, self.max_asks + 1):
            context = {"ask": str(ask)} if resample and ask > 1 else {}
            request = ChatRequest(messages=messages, params=self.params, context=context)
            called = await self.caller.call(self.model, request)
            raw = spent.add(called)
            try:
                return _Asked(read(called.response), ask, raw)
            except JudgeParseError as exc:
                error = exc
                if settles(raw):
                    return _Asked(None, ask, raw, error)
                if not resample:
                    messages = [*messages, Message.text("assistant", raw), reask(exc)]
        return _Asked(None, self.max_asks, raw, error)


@dataclass(frozen=True)
class _Asked:
    """What asking one question came to: the value read (None with `error`), the asks it took
    and the last reply."""

    value: Any
    asks: int
    raw: str | None
    error: JudgeParseError | None = None


@dataclass
class _Spent:
    """What the asks about one answer cost so far, and the last reply."""

    usage: Usage = field(default_factory=Usage)
    latency: float = 0.0
    cached: bool = True
    raw: str | None = None
    calls: int = 0  # answered calls

    def add(self, called: Called) -> str:
        self.calls += 1
        self.cached = self.cached and called.cached
        if not called.cached:
            self.usage, self.latency = (
                self.usage + called.response.usage,
                self.latency + called.latency,
            )
        self.raw = called.response.text
        return self.raw

    def fields(self) -> dict[str, Any]:
        return {
            "usage": self.usage,
            "latency": self.latency,
            "cached": self.cached,
            "raw": self.raw,
        }
