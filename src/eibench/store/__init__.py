"""The SQLite run store: runs, generations, judgments, per-answer metrics,
captions and the call cache."""

from eibench.store.db import Store, default_workspace
from eibench.store.records import Generation, JudgingConfig, Judgment, RunConfig, RunInfo

__all__ = [
    "Generation",
    "JudgingConfig",
    "Judgment",
    "RunConfig",
    "RunInfo",
    "Store",
    "default_workspace",
]
