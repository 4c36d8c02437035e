"""Async scheduling of model calls: concurrency, retries, rate limits, progress, cost.

`eibench.runner.generate` (answering a split) is imported from its module: it builds on CFSA,
which builds on this package, so re-exporting it here would make an import cycle."""

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
