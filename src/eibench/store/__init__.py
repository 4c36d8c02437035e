"""The SQLite run store: runs, generations, judgments, per-answer metrics,
captions and the call cache."""

from eibench.records.runs import Generation, JudgingConfig, Judgment, RunConfig, RunInfo
from eibench.store.db import Store, default_workspace

__all__ = [
    "Generation",
    "JudgingConfig",
    "Judgment",
    "RunConfig",
    "RunInfo",
    "Store",
    "default_workspace",
]
