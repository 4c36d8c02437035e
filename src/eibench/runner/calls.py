"""`CachedCaller`: the one way every stage calls a model. It answers from the call cache when it
can, otherwise calls with retries under a shared concurrency limit, caches the answer, counts
requests, and notes the first error after which no further call can succeed."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from eibench.models.base import ChatModel, ChatRequest, ChatResponse, ModelCallError
from eibench.models.endpoint import cache_identity
from eibench.runner.progress import RunProgress
from eibench.runner.retry import AdaptiveLimiter, RetryPolicy, call_with_retries
from eibench.store import Store

T = TypeVar("T")

# Errors after which no further call can succeed: stop the work instead of failing every sample.
FATAL = frozenset({"auth", "unavailable"})


@dataclass
class Called:
    response: ChatResponse
    attempts: int  # calls made (0 when answered from the cache)
    cached: bool
    latency: float


class CachedCaller:
    """Shared state of one invocation: limiter, cache, request count and stop flag."""

    def __init__(
        self,
        store: Store,
        progress: RunProgress,
        *,
        concurrency: int,
        adaptive: bool = False,
        policy: RetryPolicy | None = None,
        use_cache: bool = True,
    ) -> None:
        self.store, self.progress = store, progress
        self.policy = policy or RetryPolicy()
        self.use_cache = use_cache
        self.limiter = AdaptiveLimiter(concurrency, adaptive)
        self.rng = random.Random(0)
        self.requests = 0  # calls that reached a model, retries included
        self.stopped: str | None = None  # why the work stopped early, if it did

    async def call(self, model: ChatModel, request: ChatRequest) -> Called:
        """The model's answer to `request`; raises `ModelCallError` on final failure."""
        identity = cache_identity(model)  # the spec, and the endpoint where it counts
        key = request.cache_key(identity)
        if self.use_cache:
            hit = self.store.cached_response(key)
            if hit is not None:
                return Called(hit, 0, True, 0.0)

        def retried(error: ModelCallError) -> None:
            self.requests += 1
            self.progress.retried()

        try:
            result = await call_with_retries(
                model, request, self.limiter, self.policy, rng=self.rng, on_retry=retried
            )
        except ModelCallError as error:
            self.requests += 1
            if error.kind in FATAL and self.stopped is None:
                self.stopped = f"{error.kind}: {error}"
            raise
        self.requests += 1
        self.store.cache_response(key, identity, result.response)
        return Called(result.response, result.attempts, False, result.latency)


async def drain(
    items: Iterable[T],
    concurrency: int,
    handle: Callable[[T], Awaitable[None]],
    stopped: Callable[[], bool],
) -> None:
    """Handle `items` with `concurrency` workers; workers take no new item once `stopped()`."""
    queue: asyncio.Queue[T] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker() -> None:
        while not stopped():
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await handle(item)

    await gather_or_cancel(*(worker() for _ in range(max(1, concurrency))))


async def gather_or_cancel(*awaitables: Awaitable[T]) -> list[T]:
    """`asyncio.gather`, except that when one fails (or the gathering is cancelled, by Ctrl-C)
    the others are cancelled and awaited too, so that no call goes on in the background."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
