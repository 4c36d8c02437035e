"""Async scheduling of model calls: the job engine under every stage (concurrency, retries,
rate limits, timeouts, progress, cost). Answering a split, a stage built on it, is
`eibench.answers`."""

from eibench.runner.cost import Price, price_table
from eibench.runner.retry import AdaptiveLimiter, RetryPolicy, call_with_retries
from eibench.runner.select import select_samples, stratified_subset

__all__ = [
    "AdaptiveLimiter",
    "Price",
    "RetryPolicy",
    "call_with_retries",
    "price_table",
    "select_samples",
    "stratified_subset",
]
