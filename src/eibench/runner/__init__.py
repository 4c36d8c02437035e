"""Async scheduling of model calls: concurrency, retries, rate limits, progress, cost."""

from eibench.runner.cost import Price, price_table
from eibench.runner.generate import Job, Summary, generate, todo
from eibench.runner.retry import AdaptiveLimiter, RetryPolicy, call_with_retries
from eibench.runner.select import select_samples, stratified_subset

__all__ = [
    "AdaptiveLimiter",
    "Job",
    "Price",
    "RetryPolicy",
    "Summary",
    "call_with_retries",
    "generate",
    "price_table",
    "select_samples",
    "stratified_subset",
    "todo",
]
