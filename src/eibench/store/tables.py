"""What every table group of the run store shares: the store's file and connection, how it
writes (one clear error for a full disk), and the time stamp it puts on rows."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eibench.errors import EIBenchError


class StoreError(EIBenchError):
    """The run store could not be read or written (a full disk, a broken file)."""


def now() -> str:
    """The time a row is written: UTC, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """`key: old -> new` for each key whose value differs; empty when none does."""
    return ", ".join(f"{k}: {old.get(k)!r} -> {v!r}" for k, v in new.items() if old.get(k) != v)


class Tables:
    """The base of the store's table groups (`Store` is made of them). `_db` is the store's
    connection: only modules of `eibench.store` use it."""

    path: Path
    _db: sqlite3.Connection

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Turn SQLite failures (a full disk above all) into one clear `StoreError`."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise  # a bug in eibench, not a state of the disk
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path}: cannot write the run store ({exc}); everything committed so far "
                "is kept: free some space (or fix the folder) and rerun the same command"
            ) from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; SQLite failures become a `StoreError`."""
        with self.writing(), self._committed() as db:
            yield db

    @contextlib.contextmanager
    def _committed(self) -> Iterator[sqlite3.Connection]:
        """One transaction, committed when the block ends and rolled back when it raises;
        SQLite failures pass through as they are (the review app reports them itself)."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db
