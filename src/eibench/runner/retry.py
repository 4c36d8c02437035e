"""Calling a model reliably: bounded attempts, backoff with jitter, Retry-After, timeouts, and a
concurrency limit that backs off on rate limits and climbs back when calls succeed."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from eibench.models.base import ChatModel, ChatRequest, ChatResponse, ModelCallError


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5  # seconds before the second attempt; doubles each time
    max_delay: float = 30.0
    timeout: float = 300.0  # seconds for one attempt, a guard above the backend's own timeout

    def delay(self, attempt: int, error: ModelCallError, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.max_delay * 4)
        backoff = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return backoff * (0.5 + rng.random())  # full range jitter around the backoff


class AdaptiveLimiter:
    """At most `limit` calls at once. With `adaptive`, a rate limit halves the limit and a run
    of successes raises it by one, back up to the configured maximum."""

    def __init__(self, maximum: int, adaptive: bool = False) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.adaptive = adaptive
        self.in_flight = 0
        self._streak = 0
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1

    async def release(self, rate_limited: bool = False) -> None:
        async with self._cond:
            self.in_flight -= 1
            if self.adaptive:
                if rate_limited:
                    self.limit = max(1, self.limit // 2)
                    self._streak = 0
                else:
                    self._streak += 1
                    if self._streak >= self.limit and self.limit < self.maximum:
                        self.limit += 1
                        self._streak = 0
            self._cond.notify_all()


@dataclass
class CallResult:
    response: ChatResponse
    attempts: int
    latency: float


async def call_with_retries(
    model: ChatModel,
    request: ChatRequest,
    limiter: AdaptiveLimiter,
    policy: RetryPolicy,
    *,
    rng: random.Random | None = None,
    on_retry: Callable[[ModelCallError], None] | None = None,
) -> CallResult:
    """Call `model` until it answers, a non-retryable error occurs, or attempts run out.

    Raises the last `ModelCallError` (with `.attempts` set) when the call finally fails.
    """
    rng = rng or random.Random()
    attempt = 0
    while True:
        attempt += 1
        await limiter.acquire()
        started = time.perf_counter()
        rate_limited = False
        try:
            response = await asyncio.wait_for(model.chat(request), policy.timeout)
            if response.text.strip():
                return CallResult(response, attempt, time.perf_counter() - started)
            error = ModelCallError("empty_reply", f"{model.spec}: the reply has no text")
        except asyncio.TimeoutError:
            error = ModelCallError("timeout", f"no answer within {policy.timeout:g} s")
        except ModelCallError as exc:
            error = exc
            rate_limited = exc.kind == "rate_limited"
        finally:
            await limiter.release(rate_limited=rate_limited)
        if not error.retryable or attempt >= policy.max_attempts:
            error.attempts = attempt
            raise error
        if on_retry is not None:
            on_retry(error)
        await asyncio.sleep(policy.delay(attempt, error, rng))
