"""The one job engine under every stage: generation, captioning, judging, CFSA, question mining.

A stage supplies the work for one item and how its result is stored; the caller of `run_stage`
supplies the items still to do. The engine owns the rest: the worker pool, the model caller
(cache, retries, timeouts, the adaptive limiter), progress, the tally, cost, the pre-flight
check of the stage's models before its first item, and the rule that an `auth` or
`unavailable` error stops the work instead of failing every item.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, Field

from eibench.errors import EIBenchError
from eibench.models.base import ChatModel, Usage
from eibench.models.endpoint import where
from eibench.runner.calls import FATAL, CachedCaller, drain
from eibench.runner.cost import Price
from eibench.runner.preflight import preflight
from eibench.runner.progress import OnProgress, RunProgress
from eibench.runner.retry import RetryPolicy
from eibench.store import Store

T = TypeVar("T")
R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)
TallyT = TypeVar("TallyT", bound="Tally")


@dataclass(frozen=True)
class JobOptions:
    """How a stage's calls are made. `--concurrency --adaptive --timeout --max-attempts
    --retry-failed --no-cache` mean these, on every command that has them."""

    concurrency: int = 8
    adaptive: bool = False
    timeout: float = 120.0  # seconds for one whole model call
    max_attempts: int = 5
    retry_failed: bool = False
    use_cache: bool = True
    price: Price | None = None

    def check(self) -> None:
        if self.concurrency < 1 or self.max_attempts < 1:
            raise EIBenchError("--concurrency and --max-attempts must be at least 1")
        if not self.timeout > 0:
            raise EIBenchError("--timeout must be above 0 seconds")

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, timeout=self.timeout)


class JobRequest(BaseModel):
    """The runner fields a stage's request shares with every other (`eibench run`, `judge`,
    `annotate`): one place for what the shared flags mean."""

    concurrency: int = 8
    adaptive: bool = False
    max_attempts: int = Field(5, description="attempts per model call, for transient errors")
    retry_failed: bool = False
    use_cache: bool = True
    price: Price | None = None

    def job_options(self, timeout: float) -> JobOptions:
        return JobOptions(
            concurrency=self.concurrency,
            adaptive=self.adaptive,
            timeout=timeout,
            max_attempts=self.max_attempts,
            retry_failed=self.retry_failed,
            use_cache=self.use_cache,
            price=self.price,
        )


@dataclass
class Outcome:
    """What committing one item's result did (a chunk of items may count several)."""

    ok: int = 0
    failed: int = 0
    unparsed: int = 0  # judges: replies that could not be read
    kept: int = 0  # not stored: an answer was already there
    cached: int = 0
    usage: Usage = field(default_factory=Usage)  # spent now, not from the cache


@dataclass
class Tally:
    """What one invocation of a stage did."""

    selected: int = 0
    skipped: int = 0  # done before this invocation (or by another writer meanwhile)
    ok: int = 0
    failed: int = 0
    unparsed: int = 0
    cached: int = 0
    requests: int = 0  # calls that reached a model, retries included
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    cost: float | None = None
    stopped: str | None = None  # why the work stopped early, if it did
    failed_total: int = 0  # selected items whose stored result is a failure, after the run
    endpoints: list[str] = field(default_factory=list)  # the models called, and where

    @property
    def all_cached(self) -> bool:
        """Whether every answer of this invocation came from the call cache, none sent."""
        return self.ok > 0 and self.cached == self.ok and self.requests == 0

    def add(self, outcome: Outcome) -> None:
        self.ok += outcome.ok
        self.failed += outcome.failed
        self.unparsed += outcome.unparsed
        self.skipped += outcome.kept
        self.cached += outcome.cached
        self.usage = self.usage + outcome.usage

    @property
    def exit_code(self) -> int:
        """2 when the work stopped on an error no retry can fix, 1 while failures remain."""
        return 2 if self.stopped else 1 if self.failed_total or self.failed else 0


class Stage(Protocol[T_contra, R]):
    """The work of one stage over items of type T, each giving a result R."""

    async def work(self, item: T_contra) -> R:
        """Do one item; failures come back as typed results, never as exceptions."""
        ...

    def error_kind(self, result: R) -> str | None:
        """The result's error kind (`auth`, `timeout`, ...), None when it succeeded."""
        ...

    def commit(self, result: R) -> Outcome:
        """Store the result and say what that did."""
        ...

    async def aclose(self) -> None:
        """Release the stage's models."""
        ...


@dataclass
class StageRun(Generic[T, R]):
    """One run of a stage: its label, the items still to do, and how to build the stage once
    the engine's model caller exists."""

    label: str
    items: Sequence[T]
    build: Callable[[CachedCaller], Stage[T, R]]
    models: Sequence[ChatModel] = ()  # what the stage calls: checked before the first item
    start: Callable[[], None] | None = None  # once the check has passed, before any item


def run_stage(
    job: StageRun[T, R],
    store: Store,
    options: JobOptions,
    tally: TallyT,
    on_progress: OnProgress | None = None,
) -> TallyT:
    """Run `job` to the end (or until a fatal error), committing each result as it arrives;
    adds what happened to `tally` and returns it."""
    started = time.perf_counter()
    progress = RunProgress(job.label, len(job.items), on_progress, options.price)
    caller = CachedCaller(
        store,
        progress,
        concurrency=options.concurrency,
        adaptive=options.adaptive,
        policy=options.policy,
        use_cache=options.use_cache,
    )
    tally.endpoints = list(dict.fromkeys(where(m) for m in job.models))
    try:
        asyncio.run(_drain(job, caller, options, tally, progress))
    finally:
        tally.requests += caller.requests
        tally.stopped = tally.stopped or caller.stopped
        tally.seconds += time.perf_counter() - started
    if options.price is not None:
        tally.cost = options.price.cost(tally.usage)
    return tally


async def _drain(
    job: StageRun[T, R],
    caller: CachedCaller,
    options: JobOptions,
    tally: Tally,
    progress: RunProgress,
) -> None:
    stage = job.build(caller)

    async def handle(item: T) -> None:
        result = await stage.work(item)
        if caller.stopped is not None and stage.error_kind(result) in FATAL:
            return  # left to do: redone once the problem is fixed
        outcome = stage.commit(result)
        tally.add(outcome)
        for index in range(outcome.ok + outcome.failed + outcome.unparsed + outcome.kept):
            progress.advance(index < outcome.ok + outcome.kept, Usage() if index else outcome.usage)

    try:
        if job.items:
            await preflight(job.models)  # in this loop: the models' clients live in it
        if job.start is not None:
            job.start()
        with progress:
            await drain(job.items, options.concurrency, handle, lambda: caller.stopped is not None)
    finally:
        await stage.aclose()
