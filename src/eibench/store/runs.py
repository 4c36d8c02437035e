"""The store's runs and their generations: a run is bound to its configuration, and holds one
generation (an answer or a failure) per sample."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from eibench.errors import EIBenchError
from eibench.records.chat import Usage
from eibench.records.runs import Generation, RunConfig, RunInfo
from eibench.store.tables import Tables, config_diff, now

_GENERATION_COLUMNS = (
    "run",
    "sample_id",
    "image",
    "status",
    "raw",
    "clean",
    "prompt",
    "input_tokens",
    "output_tokens",
    "latency",
    "attempts",
    "cached",
    "error_kind",
    "error_message",
    "created_at",
)
# A failure never replaces a committed answer; an answer replaces anything (a retry, an import).
_PUT_GENERATION = (
    f"INSERT INTO generations ({', '.join(_GENERATION_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _GENERATION_COLUMNS)}) "
    "ON CONFLICT (run, sample_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _GENERATION_COLUMNS[2:])
    + " WHERE generations.status != 'ok' OR excluded.status = 'ok'"
)


def _generation_row(g: Generation) -> dict[str, Any]:
    return {
        "run": g.run,
        "sample_id": g.sample_id,
        "image": g.image,
        "status": g.status,
        "raw": g.raw,
        "clean": g.clean,
        "prompt": g.prompt,
        "input_tokens": g.usage.input_tokens,
        "output_tokens": g.usage.output_tokens,
        "latency": g.latency,
        "attempts": g.attempts,
        "cached": int(g.cached),
        "error_kind": g.error_kind,
        "error_message": g.error_message,
        "created_at": g.created_at or now(),
    }


def _generation(r: sqlite3.Row) -> Generation:
    return Generation(
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


class RunTables(Tables):
    """Tables `runs` and `generations`."""

    def run_config(self, name: str) -> RunConfig | None:
        row = self._db.execute("SELECT config FROM runs WHERE name = ?", (name,)).fetchone()
        return None if row is None else RunConfig.model_validate_json(row["config"])

    def ensure_run(self, name: str, config: RunConfig) -> None:
        """Create the run, or check that an existing run has the same configuration."""
        with self.writing():  # two processes may create the same run at once: one insert wins
            self._db.execute(
                "INSERT INTO runs (name, config, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, config.model_dump_json(), now()),
            )
        existing = self.require_run(name)
        diff = config_diff(existing.identity(), config.identity())
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
        rows = self._db.execute("SELECT name FROM runs ORDER BY created_at, name")
        return [r["name"] for r in rows]

    def runs(self) -> list[RunInfo]:
        infos = []
        query = "SELECT name, config, created_at FROM runs ORDER BY created_at, name"
        for row in self._db.execute(query).fetchall():
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
        rows = [_generation_row(g) for g in gens]
        with self._transaction() as db:
            return db.executemany(_PUT_GENERATION, rows).rowcount

    def generations(self, run: str) -> Iterator[Generation]:
        rows = self._db.execute(
            f"SELECT {', '.join(_GENERATION_COLUMNS)} FROM generations WHERE run = ?", (run,)
        ).fetchall()
        for r in rows:
            yield _generation(r)
