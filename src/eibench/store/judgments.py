"""The store's judgings and judgments: a judging binds (run, judge, protocol) to its
configuration, and holds one judgment per judged sample."""

from __future__ import annotations

from collections.abc import Iterable

from eibench.errors import EIBenchError
from eibench.records.runs import JudgingConfig, Judgment
from eibench.store.tables import Tables, config_diff, now

_PUT_JUDGING = (
    "INSERT OR REPLACE INTO judgings (run, judge, protocol, config, created_at) "
    "VALUES (?, ?, ?, ?, ?)"
)
_PUT_JUDGMENT = (
    "INSERT OR REPLACE INTO judgments "
    "(run, sample_id, judge, protocol, status, answer_digest, record, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class JudgmentTables(Tables):
    """Tables `judgings` and `judgments`."""

    def ensure_judging(self, run: str, config: JudgingConfig, replace: bool = False) -> None:
        """Create the (run, judge, protocol) judging, or check that the stored one has the same
        config. With `replace`, a different config discards the stored judgments instead."""
        key = (run, config.judge, config.protocol)
        row = self._db.execute(
            "SELECT config FROM judgings WHERE run = ? AND judge = ? AND protocol = ?", key
        ).fetchone()
        if row is not None:
            stored = JudgingConfig.model_validate_json(row["config"])
            diff = config_diff(stored.identity(), config.identity())
            if not diff:
                return
            if not replace:
                raise EIBenchError(
                    f"run {run!r} was judged by {config.judge} ({config.protocol}) with a "
                    f"different configuration ({diff}); pass --replace to discard those "
                    "judgments and judge again"
                )
        with self._transaction() as db:
            db.execute("DELETE FROM judgments WHERE run = ? AND judge = ? AND protocol = ?", key)
            db.execute(_PUT_JUDGING, (*key, config.model_dump_json(), now()))

    def judgings(self, run: str) -> list[JudgingConfig]:
        rows = self._db.execute(
            "SELECT config FROM judgings WHERE run = ? ORDER BY created_at, rowid",
            (run,),
        )
        return [JudgingConfig.model_validate_json(r["config"]) for r in rows]

    def judgment_states(self, run: str, judge: str, protocol: str) -> dict[str, tuple[str, str]]:
        """sample id -> (status, answer digest) of the stored judgments."""
        rows = self._db.execute(
            "SELECT sample_id, status, answer_digest FROM judgments "
            "WHERE run = ? AND judge = ? AND protocol = ?",
            (run, judge, protocol),
        )
        return {r["sample_id"]: (r["status"], r["answer_digest"]) for r in rows}

    def put_judgments(self, judgments: Iterable[Judgment]) -> None:
        """Insert or replace judgments, committed together."""
        rows = [
            (
                j.run,
                j.sample_id,
                j.judge,
                j.protocol,
                j.status,
                j.answer_digest,
                j.model_dump_json(),
                j.created_at or now(),
            )
            for j in judgments
        ]
        with self._transaction() as db:
            db.executemany(_PUT_JUDGMENT, rows)

    def judgments(
        self, run: str, judge: str | None = None, protocol: str | None = None
    ) -> list[Judgment]:
        rows = self._db.execute(
            "SELECT record FROM judgments WHERE run = ? AND judge = COALESCE(?, judge) "
            "AND protocol = COALESCE(?, protocol)",
            (run, judge, protocol),
        )
        return [Judgment.model_validate_json(r["record"]) for r in rows]
