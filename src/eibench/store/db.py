"""SQLite run store: one file per workspace, WAL mode, one writer, every result committed."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eibench.errors import EIBenchError
from eibench.models.base import ChatResponse, Usage
from eibench.store.records import Generation, JudgingConfig, Judgment, RunConfig, RunInfo
from eibench.store.schema import EMPTY_REPLY, PUT_GENERATION, SCHEMA, SCHEMA_VERSION

WORKSPACE_ENV = "EIBENCH_WORKSPACE"
DB_NAME = "eibench.sqlite"

class StoreError(EIBenchError):
    """The run store could not be read or written (a full disk, a broken file)."""


def default_workspace() -> Path:
    """`EIBENCH_WORKSPACE`, else `./eibench-workspace`."""
    return Path(os.environ.get(WORKSPACE_ENV, "eibench-workspace")).expanduser()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """`key: old -> new` for each key whose value differs; empty when none does."""
    return ", ".join(f"{k}: {old.get(k)!r} -> {v!r}" for k, v in new.items() if old.get(k) != v)


class Store:
    """The run store of one workspace. Open it with `Store.open(workspace)`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self.writing():
            self._db.executescript(SCHEMA)
        self._migrate()

    @classmethod
    def open(cls, workspace: Path | None = None) -> Store:
        folder = Path(workspace) if workspace is not None else default_workspace()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return cls(folder / DB_NAME)
        except (OSError, sqlite3.Error) as exc:
            raise EIBenchError(f"{folder / DB_NAME}: cannot open the run store ({exc})") from None

    @property
    def workspace(self) -> Path:
        return self.path.parent

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
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; SQLite failures become a `StoreError`."""
        with self.writing(), self._db:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db

    def _migrate(self) -> None:
        """Upgrade rows written by older versions. 0 -> 1: an empty reply was once stored as an
        answer and cached; it becomes a retryable failure, and leaves the cache."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        with self.transaction() as db:
            db.execute(
                "UPDATE generations SET status = 'failed', error_kind = ?, error_message = ? "
                "WHERE status = 'ok' AND TRIM(COALESCE(raw, '')) = ''",
                (EMPTY_REPLY, "the model returned an empty reply"),
            )
            db.execute(
                "DELETE FROM call_cache "
                "WHERE TRIM(COALESCE(json_extract(response, '$.text'), '')) = ''"
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection, for the store's other table modules (`store.annotations`)."""
        return self._db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # runs ---------------------------------------------------------------------------------

    def run_config(self, name: str) -> RunConfig | None:
        row = self._db.execute("SELECT config FROM runs WHERE name = ?", (name,)).fetchone()
        return None if row is None else RunConfig.model_validate_json(row["config"])

    def ensure_run(self, name: str, config: RunConfig) -> None:
        """Create the run, or check that an existing run has the same configuration."""
        with self.writing():  # two processes may create the same run at once: one insert wins
            self._db.execute(
                "INSERT INTO runs (name, config, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, config.model_dump_json(), _now()),
            )
        existing = self.require_run(name)
        diff = _diff(existing.identity(), config.identity())
        if diff:
            raise EIBenchError(
                f"run {name!r} exists with a different configuration ({diff}); "
                "choose another --run name"
            )

    def require_run(self, name: str) -> RunConfig:
        config = self.run_config(name)
        if config is None:
            known = ", ".join(self.run_names()) or "none"
            raise EIBenchError(f"no run named {name!r} in {self.path} (runs: {known})")
        return config

    def run_names(self) -> list[str]:
        return [
            r["name"] for r in self._db.execute("SELECT name FROM runs ORDER BY created_at, name")
        ]

    def runs(self) -> list[RunInfo]:
        infos = []
        for row in self._db.execute("SELECT * FROM runs ORDER BY created_at, name").fetchall():
            counts = {
                r["status"]: r["n"]
                for r in self._db.execute(
                    "SELECT status, COUNT(*) AS n FROM generations WHERE run = ? GROUP BY status",
                    (row["name"],),
                )
            }
            tokens = self._db.execute(
                "SELECT COALESCE(SUM(input_tokens), 0) AS i, COALESCE(SUM(output_tokens), 0) AS o "
                "FROM generations WHERE run = ?",
                (row["name"],),
            ).fetchone()
            infos.append(
                RunInfo(
                    name=row["name"],
                    config=RunConfig.model_validate_json(row["config"]),
                    created_at=row["created_at"],
                    counts=counts,
                    usage=Usage(input_tokens=tokens["i"], output_tokens=tokens["o"]),
                )
            )
        return infos

    # generations --------------------------------------------------------------------------

    def statuses(self, run: str) -> dict[str, str]:
        """sample id -> status, for the run's stored generations."""
        rows = self._db.execute("SELECT sample_id, status FROM generations WHERE run = ?", (run,))
        return {r["sample_id"]: r["status"] for r in rows}

    def put_generation(self, g: Generation) -> bool:
        """Store the sample's generation, committed at once; False when it was not stored
        because a failure would have replaced a committed answer."""
        return self.put_generations([g]) == 1

    def put_generations(self, gens: Iterable[Generation]) -> int:
        """Store generations in one transaction; returns how many were stored. An answer
        replaces what was there; a failure never replaces an answer."""
        rows = [
            (
                g.run,
                g.sample_id,
                g.image,
                g.status,
                g.raw,
                g.clean,
                g.prompt,
                g.usage.input_tokens,
                g.usage.output_tokens,
                g.latency,
                g.attempts,
                int(g.cached),
                g.error_kind,
                g.error_message,
                g.created_at or _now(),
            )
            for g in gens
        ]
        with self.transaction() as db:
            return db.executemany(PUT_GENERATION, rows).rowcount

    def generations(self, run: str) -> Iterator[Generation]:
        rows = self._db.execute("SELECT * FROM generations WHERE run = ?", (run,)).fetchall()
        for r in rows:
            yield Generation(
                run=r["run"],
                sample_id=r["sample_id"],
                image=r["image"],
                status=r["status"],
                raw=r["raw"],
                clean=r["clean"],
                prompt=r["prompt"],
                usage=Usage(input_tokens=r["input_tokens"], output_tokens=r["output_tokens"]),
                latency=r["latency"],
                attempts=r["attempts"],
                cached=bool(r["cached"]),
                error_kind=r["error_kind"],
                error_message=r["error_message"],
                created_at=r["created_at"],
            )

    # judgments ----------------------------------------------------------------------------

    def ensure_judging(self, run: str, config: JudgingConfig, replace: bool = False) -> None:
        """Create the (run, judge, protocol) judging, or check that the stored one has the same
        config. With `replace`, a different config discards the stored judgments instead."""
        key = (run, config.judge, config.protocol)
        row = self._db.execute(
            "SELECT config FROM judgings WHERE run = ? AND judge = ? AND protocol = ?", key
        ).fetchone()
        if row is not None:
            diff = _diff(
                JudgingConfig.model_validate_json(row["config"]).identity(), config.identity()
            )
            if not diff:
                return
            if not replace:
                raise EIBenchError(
                    f"run {run!r} was judged by {config.judge} ({config.protocol}) with a "
                    f"different configuration ({diff}); pass --replace to discard those "
                    "judgments and judge again"
                )
        with self.transaction() as db:
            db.execute("DELETE FROM judgments WHERE run = ? AND judge = ? AND protocol = ?", key)
            db.execute(
                "INSERT OR REPLACE INTO judgings VALUES (?, ?, ?, ?, ?)",
                (*key, config.model_dump_json(), _now()),
            )

    def judgings(self, run: str) -> list[JudgingConfig]:
        rows = self._db.execute(
            "SELECT config FROM judgings WHERE run = ? ORDER BY created_at, judge, protocol",
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
                j.created_at or _now(),
            )
            for j in judgments
        ]
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO judgments VALUES (?,?,?,?,?,?,?,?)", rows)

    def judgments(
        self, run: str, judge: str | None = None, protocol: str | None = None
    ) -> list[Judgment]:
        rows = self._db.execute(
            "SELECT record FROM judgments WHERE run = ? AND judge = COALESCE(?, judge) "
            "AND protocol = COALESCE(?, protocol)",
            (run, judge, protocol),
        )
        return [Judgment.model_validate_json(r["record"]) for r in rows]

    # per-answer metrics (coherence, sensitivity) -------------------------------------------

    def put_metrics(
        self, run: str, metric: str, encoder: str, values: Iterable[tuple[str, str, float | None]]
    ) -> None:
        """Store (sample id, answer digest, value) rows of one metric, committed together."""
        now = _now()
        rows = [(run, sid, metric, encoder, digest, v, now) for sid, digest, v in values]
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO answer_metrics VALUES (?,?,?,?,?,?,?)", rows)

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

    # captions and the call cache ----------------------------------------------------------

    def caption(self, key: str) -> str | None:
        row = self._db.execute("SELECT text FROM captions WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["text"])

    def put_caption(self, key: str, captioner: str, image: str, text: str) -> None:
        with self.writing():
            self._db.execute(
                "INSERT OR REPLACE INTO captions VALUES (?, ?, ?, ?, ?)",
                (key, captioner, image, text, _now()),
            )

    def cached_response(self, key: str) -> ChatResponse | None:
        row = self._db.execute("SELECT response FROM call_cache WHERE key = ?", (key,)).fetchone()
        return None if row is None else ChatResponse.model_validate_json(row["response"])

    def cache_response(self, key: str, model: str, response: ChatResponse) -> None:
        with self.writing():
            self._db.execute(
                "INSERT OR REPLACE INTO call_cache VALUES (?, ?, ?, ?)",
                (key, model, response.model_dump_json(), _now()),
            )
