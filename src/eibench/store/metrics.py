"""The store's per-answer metrics (coherence, sensitivity): one value per (run, sample, metric,
encoder), with the digest of the answer it was computed on."""

from __future__ import annotations

from collections.abc import Iterable

from eibench.store.tables import Tables, now

_PUT_METRIC = (
    "INSERT OR REPLACE INTO answer_metrics "
    "(run, sample_id, metric, encoder, answer_digest, value, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class MetricTables(Tables):
    """Table `answer_metrics`."""

    def put_metrics(
        self, run: str, metric: str, encoder: str, values: Iterable[tuple[str, str, float | None]]
    ) -> None:
        """Store (sample id, answer digest, value) rows of one metric, committed together."""
        stamp = now()
        rows = [(run, sid, metric, encoder, digest, v, stamp) for sid, digest, v in values]
        with self._transaction() as db:
            db.executemany(_PUT_METRIC, rows)

    def metrics(self, run: str, metric: str, encoder: str) -> dict[str, tuple[str, float | None]]:
        """sample id -> (answer digest, value) of a stored metric."""
        rows = self._db.execute(
            "SELECT sample_id, answer_digest, value FROM answer_metrics "
            "WHERE run = ? AND metric = ? AND encoder = ?",
            (run, metric, encoder),
        )
        return {r["sample_id"]: (r["answer_digest"], r["value"]) for r in rows}

    def metric_encoders(self, run: str, metric: str) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT encoder FROM answer_metrics WHERE run = ? AND metric = ? "
            "ORDER BY encoder",
            (run, metric),
        )
        return [r["encoder"] for r in rows]
