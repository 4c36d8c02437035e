"""The store's CFSA tables: annotations per batch, and the stage records behind them."""

from __future__ import annotations

from collections.abc import Iterable

from eibench.records.annotation import Annotation, StageRecord
from eibench.store.db import Store
from eibench.store.tables import now

_PUT_ANNOTATION = (
    "INSERT OR REPLACE INTO annotations (batch, id, image, status, record, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_PUT_STAGE = (
    "INSERT OR REPLACE INTO cfsa_stages (owner, stage, idx, record, created_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


def put_annotations(store: Store, annotations: Iterable[Annotation]) -> None:
    """Insert or replace annotations, committed together."""
    rows = [(a.batch, a.id, a.image, a.status, a.model_dump_json(), now()) for a in annotations]
    with store._committed() as db:
        db.executemany(_PUT_ANNOTATION, rows)


def load_annotations(store: Store, batch: str) -> list[Annotation]:
    rows = store._db.execute(
        "SELECT record FROM annotations WHERE batch = ? ORDER BY image, id", (batch,)
    )
    return [Annotation.model_validate_json(r["record"]) for r in rows]


def annotation_statuses(store: Store, batch: str) -> dict[str, str]:
    rows = store._db.execute("SELECT id, status FROM annotations WHERE batch = ?", (batch,))
    return {r["id"]: r["status"] for r in rows}


def batches(store: Store) -> list[str]:
    rows = store._db.execute("SELECT DISTINCT batch FROM annotations ORDER BY batch")
    return [r["batch"] for r in rows]


def put_stage(store: Store, owner: str, record: StageRecord) -> None:
    """Store one stage call of `owner` (an annotation or a run's sample), committed at once."""
    row = (owner, record.stage, record.index, record.model_dump_json(), now())
    store._db.execute(_PUT_STAGE, row)


def stages(store: Store, owner: str) -> list[StageRecord]:
    rows = store._db.execute(
        "SELECT record FROM cfsa_stages WHERE owner = ? ORDER BY created_at, stage, idx",
        (owner,),
    )
    return [StageRecord.model_validate_json(r["record"]) for r in rows]


def stored_stage(store: Store, owner: str, stage: str, index: int) -> StageRecord | None:
    row = store._db.execute(
        "SELECT record FROM cfsa_stages WHERE owner = ? AND stage = ? AND idx = ?",
        (owner, stage, index),
    ).fetchone()
    return None if row is None else StageRecord.model_validate_json(row["record"])
