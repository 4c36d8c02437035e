"""The SQLite run store: runs, generations, captions and the call cache."""

from eibench.store.db import Store, default_workspace
from eibench.store.records import Generation, RunConfig, RunInfo

__all__ = ["Generation", "RunConfig", "RunInfo", "Store", "default_workspace"]
