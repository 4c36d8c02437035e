"""SQLite run store: one file per workspace, WAL mode, one writer, every result committed.

`Store` is made of one class per group of tables, each holding that group's SQL (`runs`,
`judgments`, `metrics`, `cache`); the CFSA and review tables have modules of functions
(`annotations`, `review`). The layout itself is the migration chain (`migrations`)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from eibench.errors import EIBenchError
from eibench.store.cache import CacheTables
from eibench.store.judgments import JudgmentTables
from eibench.store.metrics import MetricTables
from eibench.store.migrations import migrate
from eibench.store.runs import RunTables
from eibench.store.tables import StoreError

WORKSPACE_ENV = "EIBENCH_WORKSPACE"
DB_NAME = "eibench.sqlite"

__all__ = ["DB_NAME", "WORKSPACE_ENV", "Store", "StoreError", "default_workspace"]


def default_workspace() -> Path:
    """`EIBENCH_WORKSPACE`, else `./eibench-workspace`."""
    return Path(os.environ.get(WORKSPACE_ENV, "eibench-workspace")).expanduser()


class Store(RunTables, JudgmentTables, MetricTables, CacheTables):
    """The run store of one workspace. Open it with `Store.open(workspace)`; opening brings
    an older store's layout up to date (`store.migrations`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            with self.writing():
                migrate(self._db, path)
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(cls, workspace: Path | None = None, *, create: bool = True) -> Store:
        """The workspace's store; without `create` (reading commands) a missing one is a
        one-line `EIBenchError` rather than a new empty store."""
        folder = Path(workspace) if workspace is not None else default_workspace()
        if not create and not (folder / DB_NAME).is_file():
            raise EIBenchError(
                f"no eibench store in {folder} (a typo? `eibench run` or `eibench quickstart` "
                "creates one; --workspace or $EIBENCH_WORKSPACE choose where)"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return cls(folder / DB_NAME)
        except (OSError, sqlite3.Error) as exc:
            raise EIBenchError(f"{folder / DB_NAME}: cannot open the run store ({exc})") from None

    @property
    def workspace(self) -> Path:
        return self.path.parent

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
